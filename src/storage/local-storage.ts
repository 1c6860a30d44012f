/**
 * `LocalStorage`: checkpoints in a directory on a `FileSystem` (DESIGN §4–5).
 * The only code that knows the local layout (`ckpt-<step>`, `.staging/`,
 * `.quarantine/`, `holdfast.json`, `audit.log`, `.lease/`), rename and
 * `syncDir`, and the only reader of the durability mode.
 *
 * Discovery: only `ckpt-<step>` directories holding a `manifest.json` are
 * committed; staging, quarantine and `unsafe` leftovers without a manifest
 * are never candidates. Being listed is not being trusted: callers verify.
 */
import { posix as path } from 'node:path';
import { HoldfastError, isHoldfastError } from '../errors.js';
import { LEASE_DIR, MANIFEST_FILE, RECORDS_DIR, STAGING_DIR, STORE_DESCRIPTOR, checkpointDirName, parseCheckpointDirName, quarantineName } from '../format/names.js';
import { newNonce } from '../format/nonce.js';
import type { DurabilityMode } from '../format/vocabulary.js';
import { describeEntryType, type FileSystem } from '../fs/file-system.js';
import { ensureDirTree, removeTree, statOrUndefined } from '../fs/file-utils.js';
import type {
  AttemptArea,
  AuditAction,
  BeginOptions,
  CheckpointReader,
  CheckpointStorage,
  CheckpointWriter,
  EpochBackend,
  LeaseBackend,
  QuarantineResult,
  RecordStore,
  StorageCapabilities,
  SweepOptions,
  SweepResult,
} from './checkpoint-storage.js';
import { appendAudit } from './local-audit-log.js';
import { readOrCreateDescriptor } from './local-descriptor.js';
import { joinLocalAttempt } from './local-attempt.js';
import { localEpochBackend } from './local-epochs.js';
import { ensureQuarantineRoot, ensureStagingRoot, type LocalLayout } from './local-layout.js';
import { localLeaseBackend } from './local-lease-backend.js';
import { localRecordStore } from './local-records.js';
import { localCheckpointReader } from './local-reader.js';
import { beginLocalCheckpoint } from './local-writer.js';
import type { WriterLease } from './writer-lease.js';

/** errnos that mean "this store cannot be written": rollback then reports instead of moving. */
const READ_ONLY_ERRNOS = new Set(['EROFS', 'EACCES', 'EPERM']);

export interface OpenLocalOptions {
  durability: DurabilityMode;
  /** Create the directory and descriptor when missing (default true); false opens an existing store only. */
  create: boolean;
  /** Told about a risky place for a new store (a world-writable parent directory). */
  onWarning?: ((message: string) => void) | undefined;
}

/**
 * A store created inside a directory anyone can write: others can create names beside it (and,
 * without the sticky bit, rename or delete the store itself). The nearest existing ancestor is the
 * one that counts; directories the store creates on the way are private (0700).
 */
async function worldWritableWarning(fs: FileSystem, root: string): Promise<string | undefined> {
  let dir = path.dirname(root);
  let st = await statOrUndefined(fs, dir);
  while (st === undefined && path.dirname(dir) !== dir) {
    dir = path.dirname(dir);
    st = await statOrUndefined(fs, dir);
  }
  if (st?.mode === undefined || (st.mode & 0o002) === 0) return undefined;
  const sticky = (st.mode & 0o1000) !== 0;
  const risk = sticky ? 'other users can create names beside it' : 'without the sticky bit, other users can rename or delete it';
  return `store ${root} is being created inside the world-writable directory ${dir} (mode 0${st.mode.toString(8)}): ${risk}; a private directory is safer`;
}

/** Opens (or creates) the store at `root`, an absolute path the caller has already resolved. */
export async function openLocalStorage(fs: FileSystem, root: string, options: OpenLocalOptions): Promise<LocalStorage> {
  const st = await statOrUndefined(fs, root);
  if (st !== undefined && st.type !== 'directory') {
    throw new HoldfastError('HF_INVALID_ARG', `store path ${root} is ${describeEntryType(st.type)}, expected a directory`, { path: root });
  }
  if (st === undefined) {
    if (!options.create) throw new HoldfastError('HF_NOT_FOUND', `no store at ${root}`, { path: root });
    const warning = await worldWritableWarning(fs, root);
    if (warning !== undefined) options.onWarning?.(warning);
    await ensureDirTree(fs, root);
    // The new store's own entry must survive a power cut before anything is committed in it.
    if (options.durability === 'atomic_dirsync') await fs.syncDir(path.dirname(root));
  }
  await readOrCreateDescriptor(fs, root, { durable: options.durability !== 'unsafe', create: options.create });
  return new LocalStorage(fs, root, options.durability);
}

export class LocalStorage implements CheckpointStorage {
  readonly capabilities: StorageCapabilities = { atomicRename: true, exclusiveCreate: true, dirSync: true, rangedRead: true };
  readonly lease: LeaseBackend;
  readonly records: RecordStore;
  readonly epochs: EpochBackend;

  constructor(
    readonly fs: FileSystem,
    readonly location: string,
    private readonly durability: DurabilityMode,
  ) {
    this.lease = localLeaseBackend(this.layout(false));
    this.records = localRecordStore(this.layout(durability === 'atomic_dirsync'), durability !== 'unsafe');
    this.epochs = localEpochBackend(this.layout(durability === 'atomic_dirsync'));
  }

  private layout(syncDirs: boolean): LocalLayout {
    return { fs: this.fs, root: this.location, syncDirs };
  }

  async list(): Promise<number[]> {
    return (await this.scan()).committed;
  }

  async open(step: number): Promise<CheckpointReader | undefined> {
    const dir = path.join(this.location, checkpointDirName(step));
    if (!(await this.isCommitted(dir))) return undefined;
    return localCheckpointReader(this.fs, dir, step);
  }

  begin(step: number, options: BeginOptions): Promise<CheckpointWriter> {
    const mode = options.durability ?? this.durability;
    return beginLocalCheckpoint(this.layout(mode === 'atomic_dirsync'), step, { ...options, durability: mode });
  }

  /** Multi-rank attempts need staging and fsyncs: `unsafe` (files written in place) cannot host them. */
  joinAttempt(step: number, nonce: string): Promise<AttemptArea> {
    if (this.durability === 'unsafe') {
      return Promise.reject(new HoldfastError('HF_INVALID_ARG', `multi-rank saves need an atomic durability mode; ${this.location} is opened with unsafe`, { path: this.location }));
    }
    return joinLocalAttempt(this.layout(this.durability === 'atomic_dirsync'), step, nonce);
  }

  /**
   * Moves a failed checkpoint to `.quarantine/`, never deleting: a false alarm, or a human
   * investigating, must still find every byte. The move is durable (directory fsyncs), so a crash
   * cannot resurrect it as the newest. Another process quarantining it first, or a store that cannot
   * be written (read-only mount, snapshot), is not an error: the checkpoint is reported and skipped.
   */
  async quarantine(step: number, reason: string): Promise<QuarantineResult> {
    const dir = path.join(this.location, checkpointDirName(step));
    try {
      const qdir = await ensureQuarantineRoot(this.layout(true));
      const target = path.join(qdir, quarantineName(step, newNonce()));
      await this.fs.rename(dir, target);
      await this.fs.syncDir(this.location);
      await this.fs.syncDir(qdir);
      await this.audit('quarantine', { step, reason, movedTo: target });
      return { movedTo: target };
    } catch (e) {
      if (isHoldfastError(e, 'HF_NOT_FOUND')) return { movedTo: undefined, note: 'already moved by another process' };
      if (isHoldfastError(e) && READ_ONLY_ERRNOS.has(String(e.data['errno']))) return { movedTo: undefined, note: `left in place: the store cannot be written (${String(e.data['errno'])})` };
      throw e;
    }
  }

  /**
   * Deleting file by file could leave, after a crash, a `ckpt-*` that still has its manifest but lost
   * a file. So the directory first leaves readers' sight in one durable rename, then is removed.
   */
  async remove(step: number, lease?: WriterLease): Promise<void> {
    const dir = path.join(this.location, checkpointDirName(step));
    const stagingRoot = await ensureStagingRoot(this.layout(true));
    const trash = path.join(stagingRoot, `${checkpointDirName(step)}-deleting-${newNonce()}`);
    await lease?.assertCurrent();
    await this.fs.rename(dir, trash);
    await this.fs.syncDir(this.location);
    await removeTree(this.fs, trash);
  }

  /**
   * Staging leftovers older than the grace period are garbage (the caller holds the writer lease, so
   * no live save owns them; the grace period covers a writer paused past its lease). A `ckpt-*`
   * without a manifest may be a committed checkpoint whose manifest alone was damaged: quarantined.
   */
  async sweep(options: SweepOptions): Promise<SweepResult> {
    const staging = path.join(this.location, STAGING_DIR);
    const removed: string[] = [];
    if ((await statOrUndefined(this.fs, staging))?.type === 'directory') {
      removed.push(...(await this.removeOlderThan(staging, options.graceMs, () => true)));
      if (removed.length > 0) await this.fs.syncDir(staging);
    }
    // Temporary files of an interrupted descriptor create or record write, and lease records a crash left retired.
    removed.push(...(await this.removeOlderThan(this.location, options.graceMs, (name) => name.startsWith(`.${STORE_DESCRIPTOR}.`))));
    const leaseDir = path.join(this.location, LEASE_DIR);
    if ((await statOrUndefined(this.fs, leaseDir))?.type === 'directory') {
      removed.push(...(await this.removeOlderThan(leaseDir, options.graceMs, (name) => name.endsWith('.retired'))));
    }
    const recordsDir = path.join(this.location, RECORDS_DIR);
    if ((await statOrUndefined(this.fs, recordsDir))?.type === 'directory') {
      removed.push(...(await this.removeOlderThan(recordsDir, options.graceMs, (name) => name.startsWith('.') && name.endsWith('.tmp'))));
    }
    const quarantined: string[] = [];
    for (const step of (await this.scan()).incomplete) {
      const { movedTo } = await this.quarantine(step, 'a ckpt directory without a manifest');
      if (movedTo !== undefined) quarantined.push(movedTo);
    }
    if (removed.length > 0) await this.audit('gc-staging', { removed });
    return { removed, quarantined };
  }

  /** Removes the entries of `dir` that `pick` names and that were last changed over `graceMs` ago. */
  private async removeOlderThan(dir: string, graceMs: number, pick: (name: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    const now = Date.now();
    for (const name of await this.fs.readdir(dir)) {
      if (!pick(name)) continue;
      const p = path.join(dir, name);
      const st = await statOrUndefined(this.fs, p);
      if (st === undefined || now - st.mtimeMs < graceMs) continue;
      await removeTree(this.fs, p);
      removed.push(p);
    }
    return removed;
  }

  audit(action: AuditAction, details: Record<string, unknown>): Promise<void> {
    return appendAudit(this.fs, this.location, action, details);
  }

  private async isCommitted(dir: string): Promise<boolean> {
    if ((await statOrUndefined(this.fs, dir))?.type !== 'directory') return false;
    return (await statOrUndefined(this.fs, path.join(dir, MANIFEST_FILE))) !== undefined;
  }

  private async scan(): Promise<{ committed: number[]; incomplete: number[] }> {
    const committed: number[] = [];
    const incomplete: number[] = [];
    for (const name of await this.fs.readdir(this.location)) {
      const step = parseCheckpointDirName(name);
      if (step === undefined) continue;
      const dir = path.join(this.location, name);
      if ((await statOrUndefined(this.fs, dir))?.type !== 'directory') continue;
      ((await this.isCommitted(dir)) ? committed : incomplete).push(step);
    }
    committed.sort((a, b) => a - b);
    return { committed, incomplete };
  }
}
