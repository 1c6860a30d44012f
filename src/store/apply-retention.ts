/**
 * Retention acting on a store: gathers what the pure policy needs from the
 * manifests and tags, asks `evaluateRetention`, and deletes what it lets go.
 *
 * Crash safety: each deletion is `storage.remove`, which un-commits the
 * checkpoint in one atomic step (rename out of sight / conditional manifest
 * delete) before deleting any file, so a crash leaves a checkpoint either
 * committed and whole or garbage for sweep. Deletions run newest step first:
 * an incremental checkpoint always has a higher step than the checkpoints it
 * references, so no crash can leave a committed child whose parent is gone.
 */
import { isHoldfastError } from '../errors.js';
import type { ManifestFile } from '../format/manifest-types.js';
import type { VerifyLevel } from '../format/vocabulary.js';
import type { IoRuntime } from '../io/io-runtime.js';
import { loadManifest, verifyCheckpoint } from '../restore/verify-checkpoint.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import type { WriterLease } from '../storage/writer-lease.js';
import { evaluateRetention, type RetentionCandidate, type RetentionContext, type RetentionPolicy, type RetentionVerdict } from './retention.js';
import { readTags, tagsByStep, type Tag } from './tags.js';

export interface RetentionOutcome {
  /** Deleted (or, in a dry run, to be deleted), oldest first. */
  removedSteps: number[];
  verdicts: RetentionVerdict[];
}

/** What a tiered store adds: steps kept whatever the policy, and the tags of the other tier. */
export interface RetentionExtras {
  pinned?: RetentionContext['pinned'];
  tags?: readonly Tag[];
}

/** What the policy needs to know about every committed checkpoint; reads manifests and tags only. */
export async function retentionCandidates(storage: CheckpointStorage, extraTags: readonly Tag[] = []): Promise<RetentionCandidate[]> {
  const own = await readTags(storage);
  const tags = tagsByStep([...own, ...extraTags.filter((t) => !own.some((o) => o.name === t.name && o.step === t.step))]);
  const candidates: RetentionCandidate[] = [];
  for (const step of await storage.list()) {
    const reader = await storage.open(step);
    if (reader === undefined) continue; // quarantined by a reader since the listing
    const loaded = await loadManifest(reader);
    const m = 'reason' in loaded ? undefined : loaded;
    const createdAtMs = m === undefined ? undefined : Date.parse(m.createdAt);
    candidates.push({
      step,
      createdAtMs: createdAtMs !== undefined && Number.isFinite(createdAtMs) ? createdAtMs : undefined,
      state: m?.state,
      tags: tags.get(step) ?? [],
      references: m === undefined ? [] : referencedSteps(m.files),
    });
  }
  return candidates;
}

/** Steps other than its own whose files a manifest names (an incremental checkpoint's sources). */
export function referencedSteps(files: readonly ManifestFile[]): number[] {
  return [...new Set(files.flatMap((f) => (f.source === undefined ? [] : [f.source.step])))].sort((a, b) => a - b);
}

/** Evaluates `policy` and, unless `dryRun`, deletes what it lets go; the caller holds `lease` to delete. */
export async function applyRetention(storage: CheckpointStorage, policy: RetentionPolicy, newestValidStep: number | null, lease: WriterLease | undefined, extras: RetentionExtras = {}): Promise<RetentionOutcome> {
  const context = { nowMs: Date.now(), newestValidStep, ...(extras.pinned === undefined ? {} : { pinned: extras.pinned }) };
  const verdicts = evaluateRetention(await retentionCandidates(storage, extras.tags), policy, context);
  const doomed = verdicts.filter((v) => !v.keep).map((v) => v.step);
  if (lease === undefined) return { removedSteps: doomed, verdicts };
  const removed: number[] = [];
  for (const step of [...doomed].reverse()) {
    try {
      await storage.remove(step, lease);
    } catch (e) {
      if (isHoldfastError(e, 'HF_NOT_FOUND')) continue; // a reader quarantined it meanwhile: gone either way
      throw e;
    }
    removed.push(step);
    await storage.audit('delete', { step, policy, why: verdicts.find((v) => v.step === step)!.reasons });
  }
  return { removedSteps: removed.reverse(), verdicts };
}

/**
 * The newest checkpoint that passes verification, changing nothing (a dry run must not quarantine):
 * newest first, the first that verifies.
 */
export async function newestValidStepReadOnly(storage: CheckpointStorage, io: IoRuntime, level: VerifyLevel): Promise<number | null> {
  for (const step of (await storage.list()).reverse()) {
    const reader = await storage.open(step);
    if (reader === undefined) continue;
    if ((await verifyCheckpoint(reader, { level, io, keepBytes: false, stopAtFirst: true, sources: storage })).ok) return step;
  }
  return null;
}
