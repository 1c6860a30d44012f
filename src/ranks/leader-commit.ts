/**
 * The leader's (rank 0's) half of a multi-rank save, after its own record:
 * wait for every record, check them, write the 2.0 manifest (epoch, rank
 * state), sign it with the store's key when it has one, and commit it with
 * the backend's commit. Any failure before the
 * commit leaves an abort marker, so the other ranks' `committed` settles at
 * once instead of at their deadline. The backend's commit settles an
 * ambiguous outcome itself, by reading the manifest back.
 */
import { HoldfastError, isHoldfastError } from '../errors.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type JsonValue, type ManifestEncryption } from '../format/manifest-types.js';
import { encodeManifest, sealManifest } from '../format/manifest.js';
import { encodeSha256Sums } from '../format/sha256sums.js';
import { currentProvenance } from '../commit/provenance.js';
import type { AttemptArea, CheckpointStorage, StoredFileInfo } from '../storage/checkpoint-storage.js';
import type { Attempt } from './attempt-id.js';
import { collectRecords } from './collect-records.js';
import { newerEpochs } from './epoch.js';
import { checkAndMerge } from './leader-check.js';
import { ABORT_RECORD, encodeRecord, parseAbortRecord, type RankRecord } from './rank-record.js';
import type { PhaseHook } from './rank-write.js';
import { leaderSigningKey, signedManifest } from './sign-rank-manifest.js';
import type { ManifestTrust } from '../format/manifest-signature.js';

export interface LeaderContext {
  storage: CheckpointStorage;
  area: AttemptArea;
  attempt: Attempt;
  worldSize: number;
  /** The incarnation's epoch, recorded on first use (a failure aborts like any other). */
  epoch: () => Promise<number>;
  state: JsonValue;
  deadlineMs: number;
  onPhase?: PhaseHook | undefined;
  gitCommit?: string | undefined;
  configHash?: string | undefined;
  /** The leader's encryption at rest: recorded in the manifest; every rank's record must carry the same. */
  encryption?: ManifestEncryption | undefined;
  /** The leader's signing keys: it signs the manifest; every rank's record must accept its key. */
  trust?: ManifestTrust | undefined;
}

export async function leadCommit(ctx: LeaderContext): Promise<void> {
  const { area } = ctx;
  const manifest = await buildManifest(ctx).catch(async (e: unknown) => {
    throw await abort(ctx, e instanceof Error ? e.message : String(e), e);
  });
  await ctx.onPhase?.('manifest-ready');
  try {
    await area.commit(manifest.bytes, manifest.sums);
  } catch (e) {
    // Ambiguous outcomes were settled inside `commit` (read-back). Another attempt holds the step,
    // or nothing is there: either way this attempt is over. Ours there after a failed directory
    // fsync: no marker, the ranks that see it resolve, and this leader reports the failure.
    if (isHoldfastError(e, 'HF_STEP_EXISTS') || !(await stepPresent(ctx))) await putAbort(ctx, e instanceof Error ? e.message : String(e));
    throw e;
  }
}

async function buildManifest(ctx: LeaderContext): Promise<{ bytes: Uint8Array; sums: Uint8Array }> {
  const { area, worldSize } = ctx;
  // Before waiting for anyone: a leader that cannot sign aborts at once, and every rank is told why.
  const signWith = leaderSigningKey(ctx.trust);
  const { records, unreadable } = await collectRecords(area, worldSize, ctx.deadlineMs);
  const missing = records.flatMap((r, rank) => (r === undefined ? [rank] : []));
  const failed = records.filter((r): r is RankRecord => r?.error !== undefined);
  if (unreadable.length > 0 || failed.length > 0 || missing.length > 0) {
    const why = [...unreadable, ...failed.map((r) => `rank ${r.rank} failed: ${r.error}`)];
    if (why.length === 0) why.push(`no record from rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')} within ${ctx.deadlineMs} ms`);
    throw new HoldfastError('HF_ABORTED', why.join('; '));
  }
  await ctx.onPhase?.('records-complete');
  const present = records as RankRecord[];
  const stats = new Map<string, StoredFileInfo | undefined>();
  for (const r of present) for (const f of r.files) stats.set(f.path, await area.statFile(f.path));
  const merged = checkAndMerge(present, { step: area.step, nonce: area.nonce, worldSize, encryption: ctx.encryption, signing: signWith }, stats);
  if (Array.isArray(merged)) throw new HoldfastError('HF_ABORTED', merged.join('; '));
  const epoch = await ctx.epoch();
  // An abort marker another process wrote (a second process claiming rank 0) ends the attempt here.
  const marker = await area.readRecord(ABORT_RECORD);
  if (marker !== undefined) throw new HoldfastError('HF_ABORTED', `another process aborted this attempt: ${parseAbortRecord(marker)?.reason ?? 'unreadable marker'}`);
  const newer = await newerEpochs(ctx.storage, epoch);
  if (newer.length > 0) throw new HoldfastError('HF_ABORTED', `epoch ${epoch} is fenced: a newer job incarnation recorded epoch ${newer.join(', ')}`);
  const sealed = sealManifest({
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    step: area.step,
    nonce: area.nonce,
    createdAt: new Date().toISOString(),
    files: merged.files,
    tensors: merged.tensors,
    state: ctx.state,
    world: { size: worldSize },
    provenance: { ...currentProvenance({ gitCommit: ctx.gitCommit, configHash: ctx.configHash }), node: process.version, platform: `${process.platform}-${process.arch}` },
    parent: null,
    epoch,
    rankState: merged.rankState,
    ...(ctx.encryption === undefined ? {} : { encryption: ctx.encryption }),
  });
  const manifest = signedManifest(sealed, signWith);
  return { bytes: encodeManifest(manifest), sums: encodeSha256Sums(manifest.files) };
}

/** Writes the abort marker and returns the error to throw: HF_ABORTED naming the reason. */
async function abort(ctx: LeaderContext, reason: string, cause: unknown): Promise<HoldfastError> {
  await putAbort(ctx, reason);
  if (isHoldfastError(cause, 'HF_ABORTED')) return cause;
  return new HoldfastError('HF_ABORTED', `multi-rank save of step ${ctx.area.step} aborted: ${reason}`, { path: ctx.area.location, data: { step: ctx.area.step }, cause });
}

export async function putAbort(ctx: Pick<LeaderContext, 'area' | 'onPhase'>, reason: string): Promise<void> {
  const { area } = ctx;
  await area.putRecord(ABORT_RECORD, encodeRecord({ format: 'holdfast-abort', step: area.step, nonce: area.nonce, reason })).catch(() => undefined);
  await ctx.onPhase?.('aborted');
}

async function stepPresent(ctx: LeaderContext): Promise<boolean> {
  return (await ctx.storage.open(ctx.area.step).catch(() => 'unknown')) !== undefined;
}
