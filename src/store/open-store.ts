/**
 * The public store (DESIGN §3, top layer): a thin manager that validates its
 * arguments and composes the commit protocol, verified restore with
 * rollback, and retention. It holds no checkpoint state of its own; every
 * call reads the directory afresh, so several processes can read one store.
 */
import { posix as path } from 'node:path';
import { HoldfastError, invalidArg } from '../errors.js';
import { commitCheckpoint, type CommitContext } from '../commit/commit-checkpoint.js';
import { ensureStagingRoot } from '../commit/checkpoint-target.js';
import { newNonce } from '../commit/nonce.js';
import { DEFAULT_SHARD_BYTES, planShards } from '../commit/plan-shards.js';
import type { JsonValue, Manifest } from '../format/manifest-types.js';
import { STAGING_DIR, assertValidStep } from '../format/names.js';
import { assertSafeRelativePath } from '../format/relative-path.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDirTree, removeTree, statOrUndefined } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { copyFileHashed } from '../io/copy-file-hashed.js';
import { IoRuntime } from '../io/io-runtime.js';
import { decodeTensors } from '../restore/decode-tensors.js';
import { discoverCheckpoints, discoverIncomplete } from '../restore/discover.js';
import { findNewestValid, requireValid, type RollbackContext, type ValidCheckpoint } from '../restore/find-valid.js';
import { loadManifest, verifyCheckpoint } from '../restore/verify-checkpoint.js';
import { appendAudit } from './audit-log.js';
import { stepsToDelete } from './retention.js';
import { saveAsync } from './save-async.js';
import { readOrCreateDescriptor } from './store-descriptor.js';
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
  type StoreEvent,
  type StoreOptions,
  type VerifyReport,
} from './types.js';


export async function openStore(root: string, options: StoreOptions = {}): Promise<Store> {
  if (typeof root !== 'string' || root.length === 0) throw invalidArg('store path must be a non-empty string');
  const fs = options.fs ?? new PosixFileSystem();
  const durability = options.durability ?? 'atomic_dirsync';
  assertDurability(durability);
  const absRoot = path.resolve(root);
  const st = await statOrUndefined(fs, absRoot);
  if (st !== undefined && st.type !== 'directory') {
    throw invalidArg(`store path ${absRoot} is a ${st.type}, expected a directory`, { path: absRoot });
  }
  if (st === undefined) {
    if (options.create === false) throw new HoldfastError('HF_NOT_FOUND', `no store at ${absRoot}`, { path: absRoot });
    await ensureDirTree(fs, absRoot);
    if (durability === 'atomic_dirsync') await fs.syncDir(path.dirname(absRoot));
  }
  await readOrCreateDescriptor(fs, absRoot, { durable: durability !== 'unsafe', create: options.create !== false });
  return new LocalStore(fs, absRoot, durability, options);
}

function assertDurability(mode: unknown): asserts mode is DurabilityMode {
  if (!DURABILITY_MODES.includes(mode as DurabilityMode)) {
    throw invalidArg(`durability mode must be one of ${DURABILITY_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
}

class LocalStore implements Store {
  /** Hashing workers and I/O memory: the caller's, or this store's own (closed by `close()`). */
  private readonly io: IoRuntime;
  private readonly ownsIo: boolean;

  constructor(
    readonly fs: FileSystem,
    readonly root: string,
    private readonly durability: DurabilityMode,
    private readonly options: StoreOptions,
  ) {
    this.ownsIo = options.runtime === undefined;
    this.io = options.runtime ?? new IoRuntime();
  }

  async close(): Promise<void> {
    if (this.ownsIo) await this.io.close();
  }

  async save(step: number, input: SaveInput, options: SaveOptions = {}): Promise<SaveResult> {
    assertValidStep(step);
    if (input === null || typeof input !== 'object') throw invalidArg('save input must be an object { tensors, state }');
    const shards = planShards(input.tensors ?? {}, this.options.shardSizeBytes ?? DEFAULT_SHARD_BYTES);
    const state = assertJson(input.state ?? null);
    const result = await commitCheckpoint(this.commitContext(options), step, { shards, files: [], state });
    await appendAudit(this.fs, this.root, 'save', { step, bytes: result.bytes, durability: result.durability });
    return result;
  }

  saveAsync(step: number, input: SaveInput, options: SaveAsyncOptions = {}): AsyncSaveHandle {
    return saveAsync(this, step, input, { ...options, shardSizeBytes: this.options.shardSizeBytes ?? DEFAULT_SHARD_BYTES, runtime: this.io });
  }

  async commitFiles(step: number, paths: string[], options: SaveOptions = {}): Promise<SaveResult> {
    assertValidStep(step);
    if (!Array.isArray(paths) || paths.length === 0) throw invalidArg('commitFiles needs at least one file path');
    const files = paths.map((p) => ({ name: path.basename(p), sourcePath: path.resolve(p) }));
    const names = new Set<string>();
    for (const f of files) {
      assertSafeRelativePath(f.name, 'file name', 'HF_INVALID_ARG');
      if (names.has(f.name)) throw invalidArg(`two files are named ${f.name}; names inside a checkpoint must be unique`, { path: f.sourcePath });
      names.add(f.name);
      const st = await statOrUndefined(this.fs, f.sourcePath);
      if (st?.type !== 'file') throw invalidArg(`${f.sourcePath} is ${st === undefined ? 'missing' : `a ${st.type}`}, expected a regular file`, { path: f.sourcePath });
    }
    const result = await commitCheckpoint(this.commitContext(options), step, { shards: [], files, state: null });
    await appendAudit(this.fs, this.root, 'save', { step, bytes: result.bytes, durability: result.durability, files: result.files });
    return result;
  }

  async restore(step?: number): Promise<RestoreResult> {
    const found = await this.find(step, true);
    const manifest = found.check.manifest!;
    const tensors = decodeTensors(manifest, found.check.bytesByFile, found.dir);
    await appendAudit(this.fs, this.root, 'restore', { step: found.step, skipped: found.skipped });
    return { step: found.step, path: found.dir, manifest, tensors, state: manifest.state, skipped: found.skipped };
  }

  async latest(): Promise<LatestResult | null> {
    try {
      const found = await findNewestValid(this.rollbackContext(), false);
      return { step: found.step, path: found.dir, skipped: found.skipped };
    } catch (e) {
      if (e instanceof HoldfastError && e.code === 'HF_NO_VALID_CHECKPOINT') return null;
      throw e;
    }
  }

  async list(): Promise<CheckpointInfo[]> {
    const infos: CheckpointInfo[] = [];
    for (const { step, dir } of await discoverCheckpoints(this.fs, this.root)) {
      const loaded = await loadManifest(this.fs, dir, step);
      const m = 'reason' in loaded ? undefined : loaded;
      infos.push({
        step,
        path: dir,
        bytes: m ? m.files.reduce((s, f) => s + f.size, 0) : 0,
        files: m ? m.files.length : 0,
        createdAt: m ? m.createdAt : '',
      });
    }
    return infos;
  }

  async verify(step?: number): Promise<VerifyReport[]> {
    let found = await discoverCheckpoints(this.fs, this.root);
    if (step !== undefined) {
      assertValidStep(step);
      found = found.filter((c) => c.step === step);
      if (found.length === 0) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${this.root}`, { path: this.root });
    }
    const reports: VerifyReport[] = [];
    for (const { step: s, dir } of found) {
      const check = await verifyCheckpoint(this.fs, dir, s, { level: this.options.verify ?? 'full', keepBytes: false, stopAtFirst: false, io: this.io });
      reports.push({ step: s, path: dir, ok: check.ok, problems: check.problems });
    }
    return reports;
  }

  async restoreFiles(step: number | undefined, toDir: string): Promise<{ step: number; files: string[] }> {
    const found = await this.find(step, false);
    const dest = path.resolve(toDir);
    const manifestFiles = found.check.manifest!.files;
    // Refuse before copying anything, so a refused restore leaves no partial copy behind.
    for (const f of manifestFiles) {
      if ((await statOrUndefined(this.fs, path.join(dest, f.path))) !== undefined) {
        const target = path.join(dest, f.path);
        throw new HoldfastError('HF_IO', `${target} already exists; restore never overwrites files`, { path: target, data: { errno: 'EEXIST' } });
      }
    }
    await ensureDirTree(this.fs, dest);
    const files: string[] = [];
    for (const f of manifestFiles) {
      const to = path.join(dest, f.path);
      await ensureDirTree(this.fs, path.dirname(to));
      // Copy then re-check: the copy must carry exactly the verified bytes.
      const written = await copyFileHashed(this.fs, path.join(found.dir, f.path), to, { sync: true });
      if (`sha256:${written.sha256Hex}` !== f.hash) {
        throw new HoldfastError('HF_CORRUPT', `${f.path} changed while being copied out of checkpoint ${found.step}`, { path: to });
      }
      files.push(to);
    }
    await this.fs.syncDir(dest);
    await appendAudit(this.fs, this.root, 'restore', { step: found.step, to: dest });
    return { step: found.step, files };
  }

  async inspect(step: number): Promise<Manifest> {
    assertValidStep(step);
    const found = (await discoverCheckpoints(this.fs, this.root)).find((c) => c.step === step);
    if (found === undefined) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${this.root}`, { path: this.root });
    const loaded = await loadManifest(this.fs, found.dir, step);
    if ('reason' in loaded) throw new HoldfastError('HF_CORRUPT', loaded.message, { path: found.dir, data: { problems: [loaded] } });
    return loaded;
  }

  async gc(options: GcOptions): Promise<GcResult> {
    const keepLast = options?.keepLast;
    if (!Number.isSafeInteger(keepLast) || keepLast < 1) throw invalidArg(`keepLast must be an integer >= 1, got ${JSON.stringify(keepLast)}`);
    const removedStaging = await this.sweepStaging();
    const committed = (await discoverCheckpoints(this.fs, this.root)).map((c) => c.step);
    const newestValid = (await this.latest())?.step ?? null;
    const removedSteps = stepsToDelete(committed, keepLast, newestValid);
    for (const { step, dir } of await discoverCheckpoints(this.fs, this.root)) {
      if (!removedSteps.includes(step)) continue;
      await this.deleteCheckpoint(dir);
      await appendAudit(this.fs, this.root, 'delete', { step, keepLast });
    }
    if (removedSteps.length > 0 || removedStaging.length > 0) await this.fs.syncDir(this.root);
    return { removedSteps, removedStaging };
  }

  /**
   * Deleting file by file could leave, after a crash, a `ckpt-*` that still has its manifest but lost
   * a file. So the directory first leaves readers' sight in one durable rename, then is removed.
   */
  private async deleteCheckpoint(dir: string): Promise<void> {
    const stagingRoot = await ensureStagingRoot(this.fs, this.root, true);
    const trash = path.join(stagingRoot, `${path.basename(dir)}-deleting-${newNonce()}`);
    await this.fs.rename(dir, trash);
    await this.fs.syncDir(this.root);
    await removeTree(this.fs, trash);
  }

  /** Staging leftovers of interrupted saves, and `ckpt-*` directories an `unsafe` save left without a manifest. */
  private async sweepStaging(): Promise<string[]> {
    const removed: string[] = [];
    const staging = path.join(this.root, STAGING_DIR);
    if ((await statOrUndefined(this.fs, staging))?.type === 'directory') {
      for (const name of await this.fs.readdir(staging)) {
        await removeTree(this.fs, path.join(staging, name));
        removed.push(path.join(staging, name));
      }
      if (removed.length > 0) await this.fs.syncDir(staging);
    }
    for (const { dir } of await discoverIncomplete(this.fs, this.root)) {
      await removeTree(this.fs, dir);
      removed.push(dir);
    }
    if (removed.length > 0) await appendAudit(this.fs, this.root, 'gc-staging', { removed });
    return removed;
  }

  private find(step: number | undefined, keepBytes: boolean): Promise<ValidCheckpoint> {
    if (step === undefined) return findNewestValid(this.rollbackContext(), keepBytes);
    assertValidStep(step);
    return requireValid(this.rollbackContext(), step, keepBytes);
  }

  private rollbackContext(): RollbackContext {
    const onEvent = (event: StoreEvent): void => {
      if (event.type === 'quarantined') void appendAudit(this.fs, this.root, 'quarantine', { step: event.step, reason: event.reason, movedTo: event.movedTo });
      this.options.onEvent?.(event);
    };
    return { fs: this.fs, io: this.io, root: this.root, level: this.options.verify ?? 'full', onEvent };
  }

  private commitContext(options: SaveOptions): CommitContext {
    const mode = options.durability ?? this.durability;
    assertDurability(mode);
    return { fs: this.fs, io: this.io, root: this.root, mode, gitCommit: options.gitCommit, configHash: options.configHash };
  }
}

function assertJson(value: unknown): JsonValue {
  try {
    JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`non-finite number ${v}`);
      if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol' || v === undefined) throw new Error(`a ${typeof v} is not JSON`);
      return v;
    });
  } catch (e) {
    throw invalidArg(`state must be plain JSON: ${(e as Error).message}`);
  }
  return value as JsonValue;
}
