/**
 * The public store (DESIGN §3, top layer): a thin manager that validates its
 * arguments and composes the commit protocol, verified restore with
 * rollback, retention and the writer lease, over a `CheckpointStorage`. It
 * holds no checkpoint state of its own; every call reads the storage afresh,
 * so several processes can read one store, and writers take turns.
 */
import { posix as path } from 'node:path';
import { HoldfastError, invalidArg } from '../errors.js';
import { commitCheckpoint, type CommitContext } from '../commit/commit-checkpoint.js';
import { DEFAULT_SHARD_BYTES, planShards } from '../commit/plan-shards.js';
import { INCREMENTAL_SHARD_BYTES } from '../commit/incremental.js';
import type { JsonValue, Manifest } from '../format/manifest-types.js';
import { assertValidStep } from '../format/names.js';
import { assertSafeRelativePath } from '../format/relative-path.js';
import { describeEntryType, type FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { resolveUserPath } from '../fs/real-path.js';
import { InFlightLimiter } from '../io/in-flight-limiter.js';
import { IoRuntime } from '../io/io-runtime.js';
import type { Deferred } from '../io/snapshot-then-save.js';
import { decodeTensors } from '../restore/decode-tensors.js';
import type { RestoreDestinations } from '../restore/restore-into.js';
import { findNewestValid, requireValid, type RollbackContext, type ValidCheckpoint } from '../restore/find-valid.js';
import { loadManifest, verifyCheckpoint } from '../restore/verify-checkpoint.js';
import { restoreLayout } from '../restore/restore-layout.js';
import { assertLayoutArgument } from '../restore/tensor-part.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { openLocalStorage } from '../storage/local-storage.js';
import { acquireWriterLease, type WriterLease } from '../storage/writer-lease.js';
import { copyOutVerified } from './copy-out.js';
import { loadManifestTrust } from './signing-keys.js';
import { loadEncryptionKey } from './encryption-keys.js';
import type { EncryptionKey } from '../format/chunk-cipher.js';
import { checkpointOpener, type Decryption } from '../restore/decrypt-file.js';
import { assertRequireSame, assertSameProvenance } from '../format/provenance-match.js';
import { adviseInterval, measuredCosts } from './interval-advisor.js';
import type { ManifestTrust } from '../format/manifest-signature.js';
import { applyRetention, newestValidStepReadOnly } from './apply-retention.js';
import { assertRetentionPolicy, type RetentionPolicy } from './retention.js';
import { readTags, removeTag, setTag, tagsByStep, type Tag } from './tags.js';
import { isRankOptions, rankStore, type RankOptions, type RankStore, type RankStoreBase } from './rank-store.js';
import { saveAsync } from './save-async.js';
import {
  DURABILITY_MODES,
  type AsyncSaveHandle,
  type SaveAsyncOptions,
  type CheckpointInfo,
  type DurabilityMode,
  type GcOptions,
  type GcResult,
  type IntervalAdvice,
  type IntervalOptions,
  type LatestResult,
  type RestoreOptions,
  type RestoreResult,
  type SaveInput,
  type SaveOptions,
  type SaveResult,
  type Store,
  type StoreOptions,
  type TieredWhere,
  type VerifyReport,
} from './types.js';

/** Staging leftovers younger than this may belong to a live (paused) save; gc leaves them. */
export const DEFAULT_STAGING_GRACE_MS = 10 * 60_000;
/** The interval advisor reads the manifests of this many newest checkpoints (older ones may be of another setup). */
const SAMPLE_MANIFESTS = 40;
/** Manifests `list` reads at once. */
const MANIFESTS_IN_FLIGHT = 16;

/**
 * Opens the store at `root` (a directory, created if missing unless `create: false`), at an
 * `s3://bucket/prefix` URL (the bucket must exist), or over any `CheckpointStorage` passed as `{ storage }`.
 * `{ local, durable }` opens a tiered store (tiered-store.ts): saves commit to `local`, then upload to `durable`.
 * With `{ rank, worldSize, attempt }`: the store of one rank of a multi-rank job (rank-store.ts).
 */
export async function openStore(where: string | { storage: CheckpointStorage }, options: StoreOptions & RankOptions): Promise<RankStore>;
export async function openStore(where: string | { storage: CheckpointStorage } | TieredWhere, options?: StoreOptions): Promise<Store>;
export async function openStore(where: string | { storage: CheckpointStorage } | TieredWhere, options: StoreOptions | (StoreOptions & RankOptions) = {}): Promise<Store | RankStore> {
  if (typeof where === 'object' && where !== null && 'local' in where) return (await import('./tiered-store.js')).openTieredStore(where, options);
  const store = await openPlainStore(where, options);
  if (!isRankOptions(options)) return store;
  try {
    return rankStore(store, options);
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function openPlainStore(where: string | { storage: CheckpointStorage }, options: StoreOptions): Promise<CheckpointStore> {
  if (options.retention !== undefined) assertRetentionPolicy(options.retention);
  const durability = options.durability ?? 'atomic_dirsync';
  const fs = storeFileSystem(options);
  const trust = options.signing === undefined ? undefined : await loadManifestTrust(fs, options.signing);
  const encryptWith = options.encryption === undefined ? undefined : await loadEncryptionKey(fs, options.encryption);
  const store = new CheckpointStore(fs, await openStorage(where, options), durability, options, trust, encryptWith);
  if (options.warm === undefined || options.warm === false) return store;
  try {
    await store.warm(options.warm === true ? undefined : options.warm);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/** The storage behind a store argument: a directory, an `s3://` URL, or a `CheckpointStorage` as it is. */
export async function openStorage(where: string | CheckpointStorage | { storage: CheckpointStorage }, options: StoreOptions = {}): Promise<CheckpointStorage> {
  const durability = options.durability ?? 'atomic_dirsync';
  assertDurability(durability);
  if (typeof where === 'object' && where !== null) return 'storage' in where && !('list' in where) ? where.storage : (where as CheckpointStorage);
  if (typeof where !== 'string' || where.length === 0) throw invalidArg('store path must be a non-empty string');
  if (where.startsWith('s3://')) {
    // Loaded on first use: local stores never pay for the SDK.
    const { S3Storage, parseS3Url } = await import('../storage/s3-storage.js');
    return new S3Storage(parseS3Url(where));
  }
  // The user's own path may go through symlinks (/data -> /mnt/nvme): resolved once, here. Inside the store, links are refused.
  const root = options.fs === undefined ? resolveUserPath(path.resolve(where)) : path.resolve(where);
  const onWarning = (message: string): void => options.onEvent?.({ type: 'warning', message });
  return openLocalStorage(storeFileSystem(options), root, { durability, create: options.create !== false, onWarning });
}

function storeFileSystem(options: StoreOptions): FileSystem {
  return options.fs ?? new PosixFileSystem(options.fileMode === undefined && options.dirMode === undefined ? {} : { fileMode: options.fileMode, dirMode: options.dirMode });
}

/**
 * A restore into the caller's arrays that failed once reading began: the error says the arrays hold
 * unverified bytes (`data.intoUnverified`). Refusals before any read (HF_INCOMPATIBLE, HF_INVALID_ARG) pass as they are.
 */
function toldUnverified(e: unknown): unknown {
  if (!(e instanceof HoldfastError) || e.code === 'HF_INCOMPATIBLE' || e.code === 'HF_INVALID_ARG') return e;
  const options = { data: { ...e.data, intoUnverified: true }, cause: e, ...(e.path === undefined ? {} : { path: e.path }) };
  return new HoldfastError(e.code, `${e.message}; the arrays given in \`into\` may hold unverified bytes: do not use them`, options);
}

function incrementalOption(options: SaveOptions): { fullEvery?: number | undefined } | undefined {
  if (options.incremental !== undefined && typeof options.incremental !== 'boolean') throw invalidArg(`incremental must be true or false, got ${JSON.stringify(options.incremental)}`);
  const { fullEvery } = options;
  if (fullEvery !== undefined && (!Number.isSafeInteger(fullEvery) || fullEvery < 1)) throw invalidArg(`fullEvery must be an integer >= 1, got ${JSON.stringify(fullEvery)}`);
  return options.incremental === true ? { fullEvery } : undefined;
}

function assertDurability(mode: unknown): asserts mode is DurabilityMode {
  if (!DURABILITY_MODES.includes(mode as DurabilityMode)) {
    throw invalidArg(`durability mode must be one of ${DURABILITY_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
}

class CheckpointStore implements RankStoreBase {
  readonly root: string;
  /** Hashing workers and I/O memory: the caller's, or this store's own (closed by `close()`). */
  readonly io: IoRuntime;
  private readonly ownsIo: boolean;
  /** One `saveAsync` in flight at a time. */
  private readonly saveSlot = new InFlightLimiter(1);

  constructor(
    readonly fs: FileSystem,
    readonly storage: CheckpointStorage,
    readonly durability: DurabilityMode,
    private readonly options: StoreOptions,
    /** Signing and the keys a checkpoint must be signed by; none: signatures are neither made nor checked. */
    readonly trust?: ManifestTrust,
    /** Seals every file saved, and is the key encrypted checkpoints are opened with; none: saves are plain, encrypted restores HF_KEY. */
    readonly encryptWith?: EncryptionKey,
  ) {
    this.root = storage.location;
    this.ownsIo = options.runtime === undefined;
    this.io = options.runtime ?? new IoRuntime();
  }

  save(step: number, input: SaveInput, options: SaveOptions = {}): Promise<SaveResult> {
    return this.saveDeferring(step, input, options, undefined);
  }

  /** `save`, where `deferred` tensors are still the caller's (a budgeted `saveAsync`): written first. */
  private async saveDeferring(step: number, input: SaveInput, options: SaveOptions, deferred: Deferred | undefined): Promise<SaveResult> {
    assertValidStep(step);
    if (input === null || typeof input !== 'object') throw invalidArg('save input must be an object { tensors, state }');
    const incremental = incrementalOption(options);
    const shards = planShards(input.tensors ?? {}, this.shardSize(options));
    // Checked with every other reader limit before anything is written (commitCheckpoint).
    const state = (input.state ?? null) as JsonValue;
    const result = await commitCheckpoint(this.commitContext(options, `save ${step}`), step, { shards, files: [], state, deferred, incremental });
    await this.storage.audit('save', { step, bytes: result.bytes, durability: result.durability });
    await this.retainAfterCommit(step);
    return result;
  }

  saveAsync(step: number, input: SaveInput, options: SaveAsyncOptions = {}): AsyncSaveHandle {
    const stagingBudgetBytes = options.stagingBudgetBytes ?? this.options.stagingBudgetBytes;
    return saveAsync((s, i, o, d) => this.saveDeferring(s, i, o, d), step, input, {
      ...options,
      ...(stagingBudgetBytes === undefined ? {} : { stagingBudgetBytes }),
      shardSizeBytes: this.shardSize(options),
      runtime: this.io,
      limiter: this.saveSlot,
    });
  }

  async commitFiles(step: number, paths: string[], options: SaveOptions = {}): Promise<SaveResult> {
    assertValidStep(step);
    if (!Array.isArray(paths) || paths.length === 0) throw invalidArg('commitFiles needs at least one file path');
    const files = paths.map((p) => ({ name: path.basename(p), sourcePath: this.userPath(p), sizeBytes: 0 }));
    const names = new Set<string>();
    for (const f of files) {
      assertSafeRelativePath(f.name, 'file name', 'HF_INVALID_ARG');
      if (names.has(f.name)) throw invalidArg(`two files are named ${f.name}; names inside a checkpoint must be unique`, { path: f.sourcePath });
      names.add(f.name);
      const st = await statOrUndefined(this.fs, f.sourcePath);
      if (st?.type !== 'file') throw invalidArg(`${f.sourcePath} is ${st === undefined ? 'missing' : describeEntryType(st.type)}, expected a regular file`, { path: f.sourcePath });
      f.sizeBytes = st.sizeBytes;
    }
    const result = await commitCheckpoint(this.commitContext(options, `commit ${step}`), step, { shards: [], files, state: null });
    await this.storage.audit('save', { step, bytes: result.bytes, durability: result.durability, files: result.files });
    await this.retainAfterCommit(step);
    return result;
  }

  async restore(which?: number | RestoreOptions): Promise<RestoreResult> {
    const options: RestoreOptions = typeof which === 'object' && which !== null ? which : { step: which };
    const current = { configHash: options.configHash, gitCommit: options.gitCommit };
    if (options.requireSame !== undefined) assertRequireSame(options.requireSame, current);
    if (options.layout !== undefined) return this.restoreParts(options);
    const { step, into } = options;
    const found = await this.find(step, into === undefined, into).catch((e: unknown) => {
      throw into === undefined ? e : toldUnverified(e);
    });
    const manifest = found.check.manifest!;
    assertSameProvenance(found.location, found.step, manifest.provenance, options.requireSame ?? [], current);
    const tensors = found.check.into?.finish() ?? decodeTensors(manifest, found.check.bytesByFile, found.location);
    await this.storage.audit('restore', { step: found.step, skipped: found.skipped });
    return { step: found.step, path: found.location, manifest, tensors, state: manifest.state, skipped: found.skipped };
  }

  private async restoreParts({ step, layout, into, requireSame, configHash, gitCommit }: RestoreOptions): Promise<RestoreResult> {
    assertLayoutArgument(layout, into);
    if (step !== undefined) assertValidStep(step);
    const found = await restoreLayout(this.rollbackContext(), step, layout, into);
    const { manifest, tensors } = found.value;
    assertSameProvenance(found.location, found.step, manifest.provenance, requireSame ?? [], { configHash, gitCommit });
    await this.storage.audit('restore', { step: found.step, skipped: found.skipped, parts: Object.keys(layout).length });
    return { step: found.step, path: found.location, manifest, tensors, state: manifest.state, skipped: found.skipped };
  }

  async latest(): Promise<LatestResult | null> {
    try {
      const found = await findNewestValid(this.rollbackContext(), false);
      return { step: found.step, path: found.location, skipped: found.skipped };
    } catch (e) {
      if (e instanceof HoldfastError && e.code === 'HF_NO_VALID_CHECKPOINT') return null;
      throw e;
    }
  }

  async list(): Promise<CheckpointInfo[]> {
    const tags = tagsByStep(await readTags(this.storage));
    // Manifests are read several at a time: each is a few small requests, waiting on the disk or the network.
    const infos = await mapConcurrent(await this.storage.list(), MANIFESTS_IN_FLIGHT, async (step): Promise<CheckpointInfo | undefined> => {
      const reader = await this.storage.open(step);
      if (reader === undefined) return undefined;
      const loaded = await loadManifest(reader);
      const m = 'reason' in loaded ? undefined : loaded;
      return {
        step,
        path: reader.location,
        bytes: m ? m.files.reduce((s, f) => s + f.size, 0) : 0,
        files: m ? m.files.length : 0,
        createdAt: m ? m.createdAt : '',
        tags: tags.get(step) ?? [],
      };
    });
    return infos.filter((i): i is CheckpointInfo => i !== undefined);
  }

  async verify(step?: number): Promise<VerifyReport[]> {
    let steps = await this.storage.list();
    if (step !== undefined) {
      assertValidStep(step);
      steps = steps.filter((s) => s === step);
      if (steps.length === 0) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${this.root}`, { path: this.root });
    }
    const reports: VerifyReport[] = [];
    for (const s of steps) {
      const reader = await this.storage.open(s);
      if (reader === undefined) continue;
      const check = await verifyCheckpoint(reader, { level: this.options.verify ?? 'full', io: this.io, keepBytes: false, stopAtFirst: false, verifyKeys: this.trust?.verify, sources: this.storage, decryption: this.decryption() });
      reports.push({ step: s, path: reader.location, ok: check.ok, problems: check.problems });
    }
    return reports;
  }

  async restoreFiles(step: number | undefined, toDir: string): Promise<{ step: number; files: string[] }> {
    const found = await this.findVerified(step, false);
    const to = this.userPath(toDir);
    const opener = checkpointOpener(found.check.manifest!, this.decryption(), found.location, true);
    const files = await copyOutVerified(this.fs, found.reader, found.check.manifest!.files, to, opener);
    await this.storage.audit('restore', { step: found.step, to });
    return { step: found.step, files };
  }

  async inspect(step: number): Promise<Manifest> {
    assertValidStep(step);
    const reader = await this.storage.open(step);
    if (reader === undefined) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${this.root}`, { path: this.root });
    const loaded = await loadManifest(reader);
    if ('reason' in loaded) throw new HoldfastError('HF_CORRUPT', loaded.message, { path: reader.location, data: { problems: [loaded] } });
    return loaded;
  }

  async gc(options: GcOptions): Promise<GcResult> {
    if (options === null || typeof options !== 'object') throw invalidArg('gc needs options: a retention policy, e.g. { keepLast: 3 }');
    const { stagingGraceMs, dryRun, ...policy } = options;
    if (options.durable !== undefined || options.evenIfNotUploaded !== undefined) throw invalidArg(`durable and evenIfNotUploaded are a tiered store's gc options; ${this.root} is not tiered`);
    assertRetentionPolicy(policy);
    const graceMs = stagingGraceMs ?? DEFAULT_STAGING_GRACE_MS;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw invalidArg(`stagingGraceMs must be an integer >= 0, got ${JSON.stringify(graceMs)}`);
    if (dryRun === true) {
      const newestValid = await newestValidStepReadOnly(this.storage, this.io, this.options.verify ?? 'full');
      return { ...(await applyRetention(this.storage, policy, newestValid, undefined)), removedStaging: [], quarantined: [], dryRun: true };
    }
    return this.withLease('gc', async (lease) => {
      const swept = await this.storage.sweep({ graceMs });
      const newestValid = (await this.latest())?.step ?? null;
      const outcome = await applyRetention(this.storage, policy, newestValid, lease);
      return { ...outcome, removedStaging: swept.removed, quarantined: swept.quarantined, dryRun: false };
    });
  }

  async adviseInterval(options: IntervalOptions): Promise<IntervalAdvice> {
    const manifests: Manifest[] = [];
    for (const step of (await this.storage.list()).slice(-SAMPLE_MANIFESTS)) {
      const reader = await this.storage.open(step);
      const loaded = reader === undefined ? undefined : await loadManifest(reader);
      if (loaded !== undefined && !('reason' in loaded)) manifests.push(loaded);
    }
    const measured = measuredCosts(manifests);
    if (measured === undefined) {
      throw new HoldfastError('HF_NOT_FOUND', `${this.root}: no checkpoint records its save timing (written by Holdfast with manifest 2.0); save one first`, { path: this.root });
    }
    const restoreMs = options.restoreMs ?? measured.writeMs;
    const inputs = { ...measured, restoreMs, mtbfMs: options.mtbfMs, ...(options.restartMs === undefined ? {} : { restartMs: options.restartMs }) };
    return { measured, restoreMs, restoreEstimated: options.restoreMs === undefined, rows: adviseInterval(inputs) };
  }

  async warm(stateBytes?: number): Promise<void> {
    if (stateBytes !== undefined && !(Number.isSafeInteger(stateBytes) && stateBytes >= 0)) throw invalidArg(`warm needs a byte count >= 0, got ${JSON.stringify(stateBytes)}`);
    await this.io.warm(stateBytes ?? Number.MAX_SAFE_INTEGER);
  }

  async tag(step: number, name: string): Promise<void> {
    await this.withLease('tag', (): Promise<void> => setTag(this.storage, step, name));
    await this.storage.audit('tag', { step, tag: name });
  }

  async untag(name: string): Promise<number> {
    const step = await this.withLease('untag', () => removeTag(this.storage, name));
    await this.storage.audit('untag', { step, tag: name });
    return step;
  }

  tags(): Promise<Tag[]> {
    return readTags(this.storage);
  }

  async close(): Promise<void> {
    // A background save still running keeps its workers until it settles.
    (await this.saveSlot.acquire('wait'))();
    if (this.ownsIo) await this.io.close();
    await this.storage.close?.();
  }

  private async withLease<T>(purpose: string, work: (lease: WriterLease) => Promise<T>): Promise<T> {
    const lease = await acquireWriterLease(this.storage.lease, purpose, this.options.lease);
    if (lease.tookOver) await this.storage.audit('lease-takeover', { purpose, epoch: lease.record.epoch });
    try {
      return await work(lease);
    } finally {
      await lease.release();
    }
  }

  /**
   * Opt-in retention after a commit, under the lease. The save already succeeded, so a failure here
   * is a warning, not a failed save. The checkpoint just committed was hashed as it was written: when
   * it is the newest step it counts as the newest valid one without being read back.
   */
  private async retainAfterCommit(step: number): Promise<void> {
    const policy: RetentionPolicy | undefined = this.options.retention;
    if (policy === undefined) return;
    try {
      const { removedSteps } = await this.withLease('retention', async (lease) => {
        const newestValid = (await this.storage.list()).at(-1) === step ? step : ((await this.latest())?.step ?? null);
        return applyRetention(this.storage, policy, newestValid, lease);
      });
      if (removedSteps.length > 0) this.options.onEvent?.({ type: 'retention', afterStep: step, removedSteps });
    } catch (e) {
      this.options.onEvent?.({ type: 'warning', message: `retention after committing step ${step} failed (the checkpoint itself is committed): ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  private shardSize(options: SaveOptions): number {
    const configured = this.options.shardSizeBytes ?? DEFAULT_SHARD_BYTES;
    return options?.incremental === true ? Math.min(configured, INCREMENTAL_SHARD_BYTES) : configured;
  }

  private userPath(p: string): string {
    return this.options.fs === undefined ? resolveUserPath(path.resolve(p)) : path.resolve(p);
  }

  /** A verified checkpoint for the rank store (rank-store.ts), which restores whole tensors its own way. */
  findVerified(step: number | undefined, keepBytes: boolean): Promise<ValidCheckpoint> {
    return this.find(step, keepBytes);
  }

  private find(step: number | undefined, keepBytes: boolean, into?: RestoreDestinations): Promise<ValidCheckpoint> {
    if (step === undefined) return findNewestValid(this.rollbackContext(into), keepBytes);
    assertValidStep(step);
    return requireValid(this.rollbackContext(into), step, keepBytes);
  }

  private rollbackContext(into?: RestoreDestinations): RollbackContext {
    return { storage: this.storage, io: this.io, level: this.options.verify ?? 'full', verifyKeys: this.trust?.verify, onEvent: this.options.onEvent, into, decryption: this.decryption() };
  }

  /** The key encrypted checkpoints are opened with (decrypt-file.ts); an empty list still makes their restore HF_KEY. */
  private decryption(): Decryption {
    return { keys: this.encryptWith === undefined ? [] : [this.encryptWith], ciphers: this.io.ciphers };
  }

  private commitContext(options: SaveOptions, purpose: string): CommitContext {
    const mode = options.durability ?? this.durability;
    assertDurability(mode);
    if (options.pauseMs !== undefined && !(Number.isFinite(options.pauseMs) && options.pauseMs >= 0)) {
      throw invalidArg(`pauseMs must be a non-negative number of milliseconds, got ${JSON.stringify(options.pauseMs)}`);
    }
    if (this.trust !== undefined && this.trust.sign === undefined) {
      throw invalidArg(`${this.root} requires signed checkpoints and this store was given only a public key (${this.trust.verify.map((k) => k.keyId).join(', ')}): saving needs the private or HMAC key`);
    }
    const takeLease = (): Promise<WriterLease> => acquireWriterLease(this.storage.lease, purpose, this.options.lease);
    return {
      storage: this.storage,
      fs: this.fs,
      io: this.io,
      mode,
      takeLease,
      gitCommit: options.gitCommit,
      configHash: options.configHash,
      signWith: this.trust?.sign,
      encryptWith: this.encryptWith,
      pauseMs: options.pauseMs,
    };
  }
}
