/**
 * gc on a tiered store: retention and leftover cleanup on both tiers, each under its own store's
 * writer lease and with a single store's guarantees (never the tier's newest checkpoint that
 * passes verification, a tagged one, or one a kept incremental checkpoint references; each
 * deletion un-commits before it deletes). Two rules join them:
 *
 * - The local tier keeps every checkpoint the durable tier does not hold yet (tier `local`,
 *   `uploading` or `conflict`), unless the caller says `evenIfNotUploaded`: deleting it would
 *   delete the only copy, which is what the durable tier is there to prevent.
 * - The durable tier keeps every checkpoint the local tier still holds: the durable tier is the
 *   superset (and a step deleted there but kept locally would be uploaded again by the next sync).
 *
 * Tags live in the local tier and protect a checkpoint in both tiers. The durable tier's policy is
 * the local one unless `durable` names its own (e.g. keep 2 on NVMe, 50 in the bucket).
 */
import { invalidArg } from '../errors.js';
import type { VerifyLevel } from '../format/vocabulary.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { acquireWriterLease, type LeaseOptions } from '../storage/writer-lease.js';
import { applyRetention, newestValidStepReadOnly, type RetentionExtras } from './apply-retention.js';
import { DEFAULT_STAGING_GRACE_MS } from './open-store.js';
import { assertRetentionPolicy, type RetentionContext, type RetentionPolicy } from './retention.js';
import { listTiers } from './tier-state.js';
import type { GcOptions, GcResult, Store } from './types.js';

export interface Tier {
  store: Store;
  storage: CheckpointStorage;
}

export interface TieredGcContext {
  local: Tier;
  durable: Tier;
  /** Steps this process is uploading right now (tier-state.ts). */
  uploadingHere: ReadonlySet<number>;
  io: IoRuntime;
  level: VerifyLevel;
  lease: LeaseOptions | undefined;
}

/** How a run differs from `holdfast gc`: retention after a commit or an upload sweeps nothing and trusts steps it verified. */
export interface TierGcRun {
  sweep: boolean;
  /** Steps known valid in either tier: just committed (hashed as written), or re-read, verified and uploaded by this process. */
  knownValid?: ReadonlySet<number>;
  /** The local tier only (after a local commit: the durable tier has not changed). */
  localOnly?: boolean;
}

export async function gcTiers(ctx: TieredGcContext, options: GcOptions, run: TierGcRun = { sweep: true }): Promise<GcResult> {
  if (options === null || typeof options !== 'object') throw invalidArg('gc needs options: a retention policy, e.g. { keepLast: 3 }');
  const { stagingGraceMs, dryRun, durable: durablePolicy, evenIfNotUploaded, ...policy } = options;
  assertRetentionPolicy(policy);
  if (durablePolicy !== undefined) assertRetentionPolicy(durablePolicy);
  const graceMs = stagingGraceMs ?? DEFAULT_STAGING_GRACE_MS;
  if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw invalidArg(`stagingGraceMs must be an integer >= 0, got ${JSON.stringify(graceMs)}`);
  // Under the local lease: no save commits between finding what is not uploaded and deleting.
  const localExtras = async (): Promise<RetentionExtras> => (evenIfNotUploaded === true ? {} : { pinned: await notUploadedPins(ctx) });
  const local = await gcTier(ctx, ctx.local, policy, localExtras, graceMs, dryRun === true, run);
  if (run.localOnly === true) return local;
  const removed = new Set(local.removedSteps);
  const durableExtras = async (): Promise<RetentionExtras> => {
    const held = (await ctx.local.storage.list()).filter((s) => !removed.has(s));
    const pinned: RetentionContext['pinned'] = new Map(held.map((s) => [s, { rule: 'held-locally' as const, detail: 'the local tier keeps it, so the durable tier does too' }]));
    return { pinned, tags: await ctx.local.store.tags() };
  };
  const durable = await gcTier(ctx, ctx.durable, durablePolicy ?? policy, durableExtras, graceMs, dryRun === true, run);
  return { ...local, durable };
}

/** Every local checkpoint the durable tier does not hold with the same manifest (the caller holds the local lease). */
async function notUploadedPins(ctx: TieredGcContext): Promise<NonNullable<RetentionContext['pinned']>> {
  const pins = new Map<number, { rule: 'not-uploaded'; detail: string }>();
  for (const c of await listTiers(ctx.local.storage, ctx.durable.storage, ctx.uploadingHere)) {
    if (c.tier !== 'durable' && c.tier !== 'durable-only') pins.set(c.step, { rule: 'not-uploaded', detail: `the durable tier does not hold it yet (${c.tier})` });
  }
  return pins;
}

async function gcTier(ctx: TieredGcContext, tier: Tier, policy: RetentionPolicy, extras: () => Promise<RetentionExtras>, graceMs: number, dryRun: boolean, run: TierGcRun): Promise<GcResult> {
  if (dryRun) {
    const newestValid = await newestValidStepReadOnly(tier.storage, ctx.io, ctx.level);
    return { ...(await applyRetention(tier.storage, policy, newestValid, undefined, await extras())), removedStaging: [], quarantined: [], dryRun: true };
  }
  const lease = await acquireWriterLease(tier.storage.lease, 'gc', ctx.lease);
  if (lease.tookOver) await tier.storage.audit('lease-takeover', { purpose: 'gc', epoch: lease.record.epoch });
  try {
    const swept = run.sweep ? await tier.storage.sweep({ graceMs }) : { removed: [], quarantined: [] };
    const newest = (await tier.storage.list()).at(-1);
    const newestValid = newest !== undefined && run.knownValid?.has(newest) === true ? newest : ((await tier.store.latest())?.step ?? null);
    const outcome = await applyRetention(tier.storage, policy, newestValid, lease, await extras());
    return { ...outcome, removedStaging: swept.removed, quarantined: swept.quarantined, dryRun: false };
  } finally {
    await lease.release();
  }
}
