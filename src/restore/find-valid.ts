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
import type { StoreEvent, VerifyLevel } from '../format/vocabulary.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { CheckpointReader, CheckpointStorage } from '../storage/checkpoint-storage.js';
import { readEpochRecords } from './epochs.js';
import { verifyCheckpoint, type CheckpointCheck } from './verify-checkpoint.js';

export interface RollbackContext {
  storage: CheckpointStorage;
  io: IoRuntime;
  level: VerifyLevel;
  onEvent?: ((event: StoreEvent) => void) | undefined;
}

export interface ValidCheckpoint {
  step: number;
  location: string;
  /** The reader that verified it (its files, not whatever holds the step now). */
  reader: CheckpointReader;
  check: CheckpointCheck;
  skipped: { step: number; reason: string }[];
}

export async function findNewestValid(ctx: RollbackContext, keepBytes: boolean): Promise<ValidCheckpoint> {
  const skipped: { step: number; reason: string }[] = [];
  // Another process may commit a newer step and apply retention while we walk: a candidate that
  // vanishes mid-walk was removed, not corrupt, and the listing is then stale, so walk it afresh.
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const found = await walkOnce(ctx, keepBytes, skipped);
    if (found !== 'relist') return found;
  }
  throw new HoldfastError('HF_BUSY', `${ctx.storage.location}: checkpoints kept vanishing while being verified (${MAX_PASSES} listings); retention is running too often to read from`, { path: ctx.storage.location, data: { skipped } });
}

/** Listings of the store one walk may make when candidates keep disappearing under it. */
const MAX_PASSES = 16;

/** One walk over a fresh listing, newest first; 'relist' when the listing went stale under it. */
async function walkOnce(ctx: RollbackContext, keepBytes: boolean, skipped: { step: number; reason: string }[]): Promise<ValidCheckpoint | 'relist'> {
  // Failed ones stay listed where the store cannot be written: never verify them twice.
  const unlisted = (steps: number[]): number[] => steps.filter((s) => !skipped.some((k) => k.step === s));
  const candidates = unlisted(await ctx.storage.list()).reverse();
  // Read after the listing: an epoch recorded since only fences more, never less.
  const epochs = await readEpochRecords(ctx.storage);
  for (const [i, step] of candidates.entries()) {
    const reader = await ctx.storage.open(step);
    if (reader === undefined) return 'relist'; // quarantined or removed by another process since the listing
    const check = await verifyCheckpoint(reader, { level: ctx.level, io: ctx.io, keepBytes, stopAtFirst: true });
    const fenced = check.ok ? fencedReason(check, epochs) : undefined;
    if (fenced !== undefined) {
      skipped.push({ step, reason: fenced });
      continue;
    }
    if (check.ok) return { step, location: reader.location, reader, check, skipped };
    if ((await ctx.storage.open(step)) === undefined) return 'relist'; // removed while we read it
    const reason = check.problems[0]!.message;
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
  const reader = await ctx.storage.open(step);
  if (reader === undefined) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${ctx.storage.location}`, { path: ctx.storage.location, data: { step } });
  const check = await verifyCheckpoint(reader, { level: ctx.level, io: ctx.io, keepBytes, stopAtFirst: true });
  if (!check.ok) {
    const p = check.problems[0]!;
    throw new HoldfastError('HF_CORRUPT', `checkpoint ${step} failed verification: ${p.message}`, { path: reader.location, data: { step, problems: check.problems } });
  }
  const fenced = fencedReason(check, await readEpochRecords(ctx.storage));
  if (fenced !== undefined) throw new HoldfastError('HF_INCOMPATIBLE', `checkpoint ${step} is not part of this run's lineage: ${fenced}`, { path: reader.location, data: { step } });
  return { step, location: reader.location, reader, check, skipped: [] };
}

function fencedReason(check: CheckpointCheck, epochs: readonly EpochRecord[]): string | undefined {
  const m = check.manifest;
  const f = m === undefined ? undefined : fencingEpoch(m, epochs);
  return f === undefined ? undefined : describeFencing(m!, f);
}
