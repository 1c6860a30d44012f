/**
 * Rollback (DESIGN §8.4): walk committed checkpoints newest first; the first
 * that passes verification wins. Each newer one that fails is quarantined
 * and reported with its reason, so the next reader does not pay for it again.
 */
import { HoldfastError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import type { StoreEvent, VerifyLevel } from '../format/vocabulary.js';
import { discoverCheckpoints } from './discover.js';
import { quarantineCheckpoint } from './quarantine.js';
import { verifyCheckpoint, type CheckpointCheck } from './verify-checkpoint.js';
import type { IoRuntime } from '../io/io-runtime.js';

export interface RollbackContext {
  fs: FileSystem;
  /** Hashing workers and read buffers. */
  io: IoRuntime;
  root: string;
  level: VerifyLevel;
  onEvent?: ((event: StoreEvent) => void) | undefined;
}

export interface ValidCheckpoint {
  step: number;
  dir: string;
  check: CheckpointCheck;
  skipped: { step: number; reason: string }[];
}

export async function findNewestValid(ctx: RollbackContext, keepBytes: boolean): Promise<ValidCheckpoint> {
  const skipped: { step: number; reason: string }[] = [];
  const candidates = (await discoverCheckpoints(ctx.fs, ctx.root)).reverse();
  for (const { step, dir } of candidates) {
    const check = await verifyCheckpoint(ctx.fs, dir, step, { level: ctx.level, keepBytes, stopAtFirst: true, io: ctx.io });
    if (check.ok) return { step, dir, check, skipped };
    const reason = check.problems[0]!.message;
    const movedTo = await quarantineCheckpoint(ctx.fs, ctx.root, step, dir);
    skipped.push({ step, reason });
    ctx.onEvent?.({ type: 'quarantined', step, reason, movedTo });
    const next = candidates[candidates.findIndex((c) => c.step === step) + 1];
    ctx.onEvent?.({ type: 'rolled-back', fromStep: step, toStep: next?.step ?? null, reason });
  }
  const why = skipped.length === 0 ? 'it holds no committed checkpoint' : `all ${skipped.length} checkpoint(s) failed verification and were quarantined`;
  throw new HoldfastError('HF_NO_VALID_CHECKPOINT', `no valid checkpoint in ${ctx.root}: ${why}`, { path: ctx.root, data: { skipped } });
}

/** Verifies one named step; a failure is an error naming the first problem (no rollback, no quarantine). */
export async function requireValid(ctx: RollbackContext, step: number, keepBytes: boolean): Promise<ValidCheckpoint> {
  const found = (await discoverCheckpoints(ctx.fs, ctx.root)).find((c) => c.step === step);
  if (found === undefined) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${ctx.root}`, { path: ctx.root, data: { step } });
  const check = await verifyCheckpoint(ctx.fs, found.dir, step, { level: ctx.level, keepBytes, stopAtFirst: true, io: ctx.io });
  if (!check.ok) {
    const p = check.problems[0]!;
    throw new HoldfastError('HF_CORRUPT', `checkpoint ${step} failed verification: ${p.message}`, { path: found.dir, data: { step, problems: check.problems } });
  }
  return { step, dir: found.dir, check, skipped: [] };
}
