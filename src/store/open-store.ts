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
import type { JsonValue, Manifest } from '../format/manifest-types.js';
import { assertValidStep } from '../format/names.js';
import { assertSafeRelativePath } from '../format/relative-path.js';
import { describeEntryType, type FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { resolveUserPath } from '../fs/real-path.js';
import { InFlightLimiter } from '../io/in-flight-limiter.js';
import { IoRuntime } from '../io/io-runtime.js';
import { decodeTensors } from '../restore/decode-tensors.js';
import { assembleTensors } from '../ranks/assemble-tensors.js';
import { findNewestValid, requireValid, type RollbackContext, type ValidCheckpoint } from '../restore/find-valid.js';
import { loadManifest, verifyCheckpoint } from '../restore/verify-checkpoint.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { openLocalStorage } from '../storage/local-storage.js';
import { acquireWriterLease, type WriterLease } from '../storage/writer-lease.js';
import { copyOutVerified } from './copy-out.js';
import { isRankOptions, rankStore, type RankOptions, type RankStore, type RankStoreBase } from './rank-store.js';
import { stepsToDelete } from './retention.js';
import { saveAsync } from './save-async.js';
import {
  DURABILITY_MODES,
  type AsyncSaveHandle,
  type SaveAsyncOptions,
  type CheckpointInfo,
  type DurabilityMode,
  type GcOptions,
  type GcResult,
  type LatestResult,
  type RestoreResult,
  type SaveInput,
  type SaveOptions,
  type SaveResult,
  type Store,
  type StoreOptions,
  type VerifyReport,
} from './types.js';

/** Staging leftovers younger than this may belong to a live (paused) save; gc leaves them. */
const DEFAULT_STAGING_GRACE_MS = 10 * 60_000;

/**
 * Opens the store at `root` (a directory, created if missing unless `create: false`), at an
 * `s3://bucket/prefix` URL (the bucket must exist), or over any `CheckpointStorage` passed as `{ storage }`.
 * With `{ rank, worldSize, attempt }`: the store of one rank of a multi-rank job (rank-store.ts).
 */
export async function openStore(where: string | { storage: CheckpointStorage }, options: StoreOptions & RankOptions): Promise<RankStore>;
export async function openStore(where: string | { storage: CheckpointStorage }, options?: StoreOptions): Promise<Store>;
export async function openStore(where: string | { storage: CheckpointStorage }, options: StoreOptions | (StoreOptions & RankOptions) = {}): Promise<Store | RankStore> {
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
  const durability = options.durability ?? 'atomic_dirsync';
  assertDurability(durability);
  const fs = options.fs ?? new PosixFileSystem(options.fileMode === undefined && options.dirMode === undefined ? {} : { fileMode: options.fileMode, dirMode: options.dirMode });
  if (typeof where === 'object' && where !== null && 'storage' in where) return new CheckpointStore(fs, where.storage, durability, options);
  if (typeof where !== 'string' || where.length === 0) throw invalidArg('store path must be a non-empty string');
  if (where.startsWith('s3://')) {
    // Loaded on first use: local stores never pay for the SDK.
    const { S3Storage, parseS3Url } = await import('../storage/s3-storage.js');
    return new CheckpointStore(fs, new S3Storage(parseS3Url(where)), durability, options);
  }
  // The user's own path may go through symlinks (/data -> /mnt/nvme): resolved once, here. Inside the store, links are refused.
  const root = options.fs === undefined ? resolveUserPath(path.resolve(where)) : path.resolve(where);
  const storage = await openLocalStorage(fs, root, { durability, create: options.create !== false });
  return new CheckpointStore(fs, storage, durability, options);
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
  ) {
    this.root = storage.location;
    this.ownsIo = options.runtime === undefined;
    this.io = options.runtime ?? new IoRuntime();
  }

  async save(step: number, input: SaveInput, options: SaveOptions = {}): Promise<SaveResult> {
    assertValidStep(step);
    if (input === null || typeof input !== 'object') throw invalidArg('save input must be an object { tensors, state }');
    const shards = planShards(input.tensors ?? {}, this.options.shardSizeBytes ?? DEFAULT_SHARD_BYTES);
    // Checked with every other reader limit before anything is written (commitCheckpoint).
    const state = (input.state ?? null) as JsonValue;
    const result = await commitCheckpoint(this.commitContext(options, `save ${step}`), step, { shards, files: [], state });
    await this.storage.audit('save', { step, bytes: result.bytes, durability: result.durability });
    return result;
  }

  saveAsync(step: number, input: SaveInput, options: SaveAsyncOptions = {}): AsyncSaveHandle {
    return saveAsync(this, step, input, { ...options, shardSizeBytes: this.options.shardSizeBytes ?? DEFAULT_SHARD_BYTES, runtime: this.io, limiter: this.saveSlot });
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
    return result;
  }

  async restore(step?: number): Promise<RestoreResult> {
    const found = await this.findVerified(step, true);
    const manifest = found.check.manifest!;
    // Slabs of a multi-rank save are assembled into whole tensors (a copy); one slab per tensor is a view.
    const sliced = Object.values(manifest.tensors).some((t) => t.slabs.length !== 1);
    const tensors = (sliced ? assembleTensors : decodeTensors)(manifest, found.check.bytesByFile, found.location);
    await this.storage.audit('restore', { step: found.step, skipped: found.skipped });
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
    const infos: CheckpointInfo[] = [];
    for (const step of await this.storage.list()) {
      const reader = await this.storage.open(step);
      if (reader === undefined) continue;
      const loaded = await loadManifest(reader);
      const m = 'reason' in loaded ? undefined : loaded;
      infos.push({
        step,
        path: reader.location,
        bytes: m ? m.files.reduce((s, f) => s + f.size, 0) : 0,
        files: m ? m.files.length : 0,
        createdAt: m ? m.createdAt : '',
      });
    }
    return infos;
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
      const check = await verifyCheckpoint(reader, { level: this.options.verify ?? 'full', io: this.io, keepBytes: false, stopAtFirst: false });
      reports.push({ step: s, path: reader.location, ok: check.ok, problems: check.problems });
    }
    return reports;
  }

  async restoreFiles(step: number | undefined, toDir: string): Promise<{ step: number; files: string[] }> {
    const found = await this.findVerified(step, false);
    const to = this.userPath(toDir);
    const files = await copyOutVerified(this.fs, found.reader, found.check.manifest!.files, to);
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
    const keepLast = options?.keepLast;
    if (!Number.isSafeInteger(keepLast) || keepLast < 1) throw invalidArg(`keepLast must be an integer >= 1, got ${JSON.stringify(keepLast)}`);
    const graceMs = options.stagingGraceMs ?? DEFAULT_STAGING_GRACE_MS;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw invalidArg(`stagingGraceMs must be an integer >= 0, got ${JSON.stringify(graceMs)}`);
    return this.withLease('gc', async (lease) => {
      const swept = await this.storage.sweep({ graceMs });
      const committed = await this.storage.list();
      const newestValid = (await this.latest())?.step ?? null;
      const removedSteps = stepsToDelete(committed, keepLast, newestValid);
      for (const step of removedSteps) {
        await this.storage.remove(step, lease);
        await this.storage.audit('delete', { step, keepLast });
      }
      return { removedSteps, removedStaging: swept.removed, quarantined: swept.quarantined };
    });
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

  private userPath(p: string): string {
    return this.options.fs === undefined ? resolveUserPath(path.resolve(p)) : path.resolve(p);
  }

  findVerified(step: number | undefined, keepBytes: boolean): Promise<ValidCheckpoint> {
    if (step === undefined) return findNewestValid(this.rollbackContext(), keepBytes);
    assertValidStep(step);
    return requireValid(this.rollbackContext(), step, keepBytes);
  }

  private rollbackContext(): RollbackContext {
    return { storage: this.storage, io: this.io, level: this.options.verify ?? 'full', onEvent: this.options.onEvent };
  }

  private commitContext(options: SaveOptions, purpose: string): CommitContext {
    const mode = options.durability ?? this.durability;
    assertDurability(mode);
    const takeLease = (): Promise<WriterLease> => acquireWriterLease(this.storage.lease, purpose, this.options.lease);
    return { storage: this.storage, fs: this.fs, io: this.io, mode, takeLease, gitCommit: options.gitCommit, configHash: options.configHash };
  }
}
