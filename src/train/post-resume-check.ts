/**
 * Post-resume verification: after a restore, recompute the loss of the last
 * batch the checkpoint saw, with the restored weights, and compare it with
 * the value recorded at save time. Hash checks prove the bytes are the bytes
 * that were written; this proves the restored model *computes* what the saved
 * one did (right tensors in the right places, same code, same numerics), and
 * it catches a wrong restore before hours of training are spent on it.
 *
 * Contract: the comparison is exact by default (`toleranceRel` 0): the same
 * deterministic forward pass over the same bytes gives the same float. Pass a
 * tolerance only when resuming on different hardware or kernels.
 */
import { HoldfastError } from '../errors.js';
import type { LastBatchRecord } from './train-state.js';

export interface ResumeCheck {
  ok: boolean;
  /** The checkpoint carried no last-batch record (e.g. saved before the first step). */
  skipped: boolean;
  step: number | null;
  recordedLoss: number | null;
  recomputedLoss: number | null;
  message: string;
}

interface ResumeCheckOptions {
  /** Allowed relative difference; 0 demands the identical float. */
  toleranceRel?: number;
}

/** Recomputes the last batch's loss with `recompute` and compares it with the record. */
export async function checkResumeLoss(
  lastBatch: LastBatchRecord | null,
  recompute: (record: LastBatchRecord) => number | Promise<number>,
  options: ResumeCheckOptions = {},
): Promise<ResumeCheck> {
  if (lastBatch === null) {
    return { ok: true, skipped: true, step: null, recordedLoss: null, recomputedLoss: null, message: 'no last batch recorded; nothing to recompute' };
  }
  const actual = await recompute(lastBatch);
  const tol = options.toleranceRel ?? 0;
  const expected = lastBatch.loss;
  const ok = tol === 0 ? Object.is(actual, expected) : Math.abs(actual - expected) <= tol * Math.abs(expected);
  const how = tol === 0 ? 'bit-exact' : `within ${tol} relative`;
  const message = ok
    ? `loss of step ${lastBatch.step}'s batch recomputed after restore: ${actual} = recorded ${expected} (${how})`
    : `loss of step ${lastBatch.step}'s batch recomputed after restore is ${actual}, recorded at save time ${expected} (not ${how})`;
  return { ok, skipped: false, step: lastBatch.step, recordedLoss: expected, recomputedLoss: actual, message };
}

/**
 * `checkResumeLoss` that throws on a mismatch.
 * @throws HF_INCOMPATIBLE when the recomputed loss differs.
 */
export async function assertResumeLoss(
  lastBatch: LastBatchRecord | null,
  recompute: (record: LastBatchRecord) => number | Promise<number>,
  options: ResumeCheckOptions = {},
): Promise<ResumeCheck> {
  const check = await checkResumeLoss(lastBatch, recompute, options);
  if (!check.ok) throw new HoldfastError('HF_INCOMPATIBLE', `post-resume check failed: ${check.message}`, { data: { ...check } });
  return check;
}
