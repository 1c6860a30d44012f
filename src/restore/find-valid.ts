/**
 * Rollback (DESIGN §8.4): walk committed checkpoints newest first; the first
 * that passes verification wins. Each newer one that fails is quarantined
 * (or, on a store that cannot be written, reported and left in place) and
 * reported with its reason, so the next reader does not pay for it again.
 * Several readers rolling back at once is fine: a checkpoint another reader
 * quarantined first is simply gone. A verified checkpoint that the lineage
 * rule fences out (format/epoch-record.ts: a zombie leader's commit) is
 * skipped, not quarantined: its bytes are fine, it is just not this run's.
 */
import { HoldfastError } from '../errors.js';
import { describeFencing, fencingEpoch, type EpochRecord } from '../format/epoch-record.js';
import type { Manifest } from '../format/manifest-types.js';
import type { FileProblem, StoreEvent, VerifyLevel } from '../format/vocabulary.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { VerifyKey } from '../format/manifest-signature.js';
import type { CheckpointReader, CheckpointStorage } from '../storage/checkpoint-storage.js';
import type { RestoreDestinations } from './restore-into.js';
import { readEpochRecords } from './epochs.js';
import { verifyCheckpoint, type CheckpointCheck } from './verify-checkpoint.js';
import type { Decryption } from './decrypt-file.js';

export interface RollbackContext {
  storage: CheckpointStorage;
  io: IoRuntime;
  level: VerifyLevel;
  /** With keys, an unsigned or badly signed checkpoint fails verification like a corrupt one. */
  verifyKeys?: readonly VerifyKey[] | undefined;
  onEvent?: ((event: StoreEvent) => void) | undefined;
  /** Restore into the caller's arrays: every candidate is checked against them before its data is read. */
  into?: RestoreDestinations | undefined;
  /** Keys of encrypted checkpoints (decrypt-file.ts): a restore without the right one is HF_KEY, never a rollback. */
  decryption?: Decryption | undefined;
}

export interface ValidCheckpoint {
  step: number;
  location: string;
  /** The reader that verified it (its files, not whatever holds the step now). */
  reader: CheckpointReader;
  check: CheckpointCheck;
  skipped: { step: number; reason: string }[];
}

/** What examining one candidate found: its result and validated manifest (for rules over manifests, such as fencing), or the problem that disqualifies it. */
export type Examined<T> = { ok: true; value: T; manifest: Manifest } | { ok: false; problem: FileProblem };

/** A checkpoint that passed an examination, and the newer ones that failed on the way. */
export interface Passed<T> {
  step: number;
  location: string;
  /** The reader that examined it (its files, not whatever holds the step now). */
  reader: CheckpointReader;
  value: T;
  skipped: { step: number; reason: string }[];
}

export async function findNewestValid(ctx: RollbackContext, keepBytes: boolean): Promise<ValidCheckpoint> {
  return asValid(await findNewestPassing(ctx, (reader) => fullCheck(ctx, reader, keepBytes)));
}

/** Rollback with any examination (a full verification, or a verified partial read): the newest that passes. */
export async function findNewestPassing<T>(ctx: RollbackContext, examine: (reader: CheckpointReader) => Promise<Examined<T>>): Promise<Passed<T>> {
  const skipped: { step: number; reason: string }[] = [];
  // Another process may commit a newer step and apply retention while we walk: a candidate that
  // vanishes mid-walk was removed, not corrupt, and the listing is then stale, so walk it afresh.
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const found = await walkOnce(ctx, examine, skipped);
    if (found !== 'relist') return found;
  }
  throw new HoldfastError('HF_BUSY', `${ctx.storage.location}: checkpoints kept vanishing while being verified (${MAX_PASSES} listings); retention is running too often to read from`, { path: ctx.storage.location, data: { skipped } });
}

/** Listings of the store one walk may make when candidates keep disappearing under it. */
const MAX_PASSES = 16;

/** One walk over a fresh listing, newest first; 'relist' when the listing went stale under it. */
async function walkOnce<T>(ctx: RollbackContext, examine: (reader: CheckpointReader) => Promise<Examined<T>>, skipped: { step: number; reason: string }[]): Promise<Passed<T> | 'relist'> {
  // Failed ones stay listed where the store cannot be written: never verify them twice.
  const unlisted = (steps: number[]): number[] => steps.filter((s) => !skipped.some((k) => k.step === s));
  const candidates = unlisted(await ctx.storage.list()).reverse();
  // Read after the listing: an epoch recorded since only fences more, never less.
  const epochs = await readEpochRecords(ctx.storage);
  for (const [i, step] of candidates.entries()) {
    const reader = await ctx.storage.open(step);
    if (reader === undefined) return 'relist'; // quarantined or removed by another process since the listing
    const examined = await examine(reader);
    const fenced = examined.ok ? fencedReason(examined.manifest, epochs) : undefined;
    if (fenced !== undefined) {
      skipped.push({ step, reason: fenced });
      continue;
    }
    if (examined.ok) return { step, location: reader.location, reader, value: examined.value, skipped };
    if ((await ctx.storage.open(step)) === undefined) return 'relist'; // removed while we read it
    const reason = examined.problem.message;
    const { movedTo, note } = await ctx.storage.quarantine(step, reason);
    skipped.push({ step, reason });
    ctx.onEvent?.({ type: 'quarantined', step, reason, movedTo: movedTo ?? `(not moved: ${note ?? 'unknown'})` });
    ctx.onEvent?.({ type: 'rolled-back', fromStep: step, toStep: candidates[i + 1] ?? null, reason });
  }
  // Before concluding "nothing valid", make sure nothing was committed while we walked.
  if (unlisted(await ctx.storage.list()).length > 0) return 'relist';
  const where = ctx.storage.location;
  const why = skipped.length === 0 ? 'it holds no committed checkpoint' : `all ${skipped.length} checkpoint(s) failed verification`;
  throw new HoldfastError('HF_NO_VALID_CHECKPOINT', `no valid checkpoint in ${where}: ${why}`, { path: where, data: { skipped } });
}

/** Verifies one named step; a failure is an error naming the first problem (no rollback, no quarantine). */
export async function requireValid(ctx: RollbackContext, step: number, keepBytes: boolean): Promise<ValidCheckpoint> {
  return asValid(await requirePassing(ctx, step, (reader) => fullCheck(ctx, reader, keepBytes)));
}

/** Examines one named step; a failure is HF_CORRUPT naming the problem (no rollback, no quarantine). */
export async function requirePassing<T>(ctx: RollbackContext, step: number, examine: (reader: CheckpointReader) => Promise<Examined<T>>): Promise<Passed<T>> {
  const reader = await ctx.storage.open(step);
  if (reader === undefined) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${ctx.storage.location}`, { path: ctx.storage.location, data: { step } });
  const examined = await examine(reader);
  if (!examined.ok) {
    const p = examined.problem;
    throw new HoldfastError('HF_CORRUPT', `checkpoint ${step} failed verification: ${p.message}`, { path: reader.location, data: { step, problems: [p] } });
  }
  const fenced = fencedReason(examined.manifest, await readEpochRecords(ctx.storage));
  if (fenced !== undefined) throw new HoldfastError('HF_INCOMPATIBLE', `checkpoint ${step} is not part of this run's lineage: ${fenced}`, { path: reader.location, data: { step } });
  return { step, location: reader.location, reader, value: examined.value, skipped: [] };
}

async function fullCheck(ctx: RollbackContext, reader: CheckpointReader, keepBytes: boolean): Promise<Examined<CheckpointCheck>> {
  const check = await verifyCheckpoint(reader, { level: ctx.level, io: ctx.io, keepBytes, stopAtFirst: true, verifyKeys: ctx.verifyKeys, into: ctx.into, sources: ctx.storage, decryption: ctx.decryption });
  return check.ok ? { ok: true, value: check, manifest: check.manifest! } : { ok: false, problem: check.problems[0]! };
}

function asValid(found: Passed<CheckpointCheck>): ValidCheckpoint {
  const { value, ...rest } = found;
  // The check's reader also reaches the files an incremental checkpoint keeps in its sources.
  return { ...rest, reader: value.reader, check: value };
}

function fencedReason(m: Manifest, epochs: readonly EpochRecord[]): string | undefined {
  const f = fencingEpoch(m, epochs);
  return f === undefined ? undefined : describeFencing(m, f);
}
