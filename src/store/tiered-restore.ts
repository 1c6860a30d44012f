/**
 * Restore from a tiered store: newest step first, the local copy first; when
 * it is missing (a replaced node, local retention) or fails verification
 * (quarantined in its tier, as any reader would), the durable copy of the
 * same step; only when neither passes, the next older step. Each tier's
 * quarantine is that tier's own (`CheckpointStorage.quarantine`).
 */
import { HoldfastError } from '../errors.js';
import type { StoreEvent, VerifyLevel } from '../format/vocabulary.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { VerifyKey } from '../format/manifest-signature.js';
import type { ValidCheckpoint } from '../restore/find-valid.js';
import { verifyCheckpoint } from '../restore/verify-checkpoint.js';
import type { Decryption } from '../restore/decrypt-file.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';

export interface TieredRestoreContext {
  /** Fast tier first. */
  tiers: readonly CheckpointStorage[];
  io: IoRuntime;
  level: VerifyLevel;
  /** With keys, an unsigned or badly signed copy fails like a corrupt one. */
  verifyKeys?: readonly VerifyKey[] | undefined;
  onEvent?: ((event: StoreEvent) => void) | undefined;
  /** Keys of encrypted checkpoints: a restore without the right one is HF_KEY in either tier, never a fallback. */
  decryption?: Decryption | undefined;
}

/** The newest step a tier can serve verified, or, with `step`, that step (HF_NOT_FOUND / HF_CORRUPT otherwise). */
export async function findValidTiered(ctx: TieredRestoreContext, keepBytes: boolean, step?: number): Promise<ValidCheckpoint> {
  const listed = await Promise.all(ctx.tiers.map((t) => t.list()));
  const candidates = step !== undefined ? [step] : [...new Set(listed.flat())].sort((a, b) => b - a);
  const skipped: { step: number; reason: string }[] = [];
  for (const [i, s] of candidates.entries()) {
    const reasons: string[] = [];
    for (const tier of ctx.tiers) {
      const found = await verifiedIn(ctx, tier, s, keepBytes, step === undefined);
      if (found === undefined) continue;
      if (typeof found !== 'string') return { ...found, skipped };
      reasons.push(found);
    }
    if (step !== undefined) {
      const where = ctx.tiers.map((t) => t.location).join(' or ');
      if (reasons.length === 0) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${s} in ${where}`, { path: ctx.tiers[0]!.location, data: { step: s } });
      throw new HoldfastError('HF_CORRUPT', `checkpoint ${s} failed verification in every tier: ${reasons.join('; ')}`, { path: ctx.tiers[0]!.location, data: { step: s } });
    }
    if (reasons.length === 0) continue;
    skipped.push({ step: s, reason: reasons.join('; ') });
    ctx.onEvent?.({ type: 'rolled-back', fromStep: s, toStep: candidates[i + 1] ?? null, reason: reasons[0]! });
  }
  const where = ctx.tiers.map((t) => t.location).join(' and ');
  const why = skipped.length === 0 ? 'they hold no committed checkpoint' : `all ${skipped.length} checkpoint(s) failed verification in every tier`;
  throw new HoldfastError('HF_NO_VALID_CHECKPOINT', `no valid checkpoint in ${where}: ${why}`, { path: ctx.tiers[0]!.location, data: { skipped } });
}

/** The verified copy of `step` in `tier`, the reason it failed (quarantined when `quarantine`), or undefined when absent. */
async function verifiedIn(ctx: TieredRestoreContext, tier: CheckpointStorage, step: number, keepBytes: boolean, quarantine: boolean): Promise<Omit<ValidCheckpoint, 'skipped'> | string | undefined> {
  const reader = await tier.open(step);
  if (reader === undefined) return undefined;
  const check = await verifyCheckpoint(reader, { level: ctx.level, io: ctx.io, keepBytes, stopAtFirst: true, verifyKeys: ctx.verifyKeys, decryption: ctx.decryption });
  if (check.ok) return { step, location: reader.location, reader, check };
  const reason = check.problems[0]!.message;
  if (quarantine) {
    const { movedTo, note } = await tier.quarantine(step, reason);
    ctx.onEvent?.({ type: 'quarantined', step, reason, movedTo: movedTo ?? `(not moved: ${note ?? 'unknown'})` });
  }
  return reason;
}
