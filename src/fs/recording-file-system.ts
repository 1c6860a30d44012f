/**
 * A `FileSystem` that forwards every call to another one and appends each
 * mutating call to an op log (see `op-log.ts`), which `CrashModel` turns into
 * power-loss states (DESIGN §9; LevelDB FaultInjectionTestEnv; SQLite test6.c).
 * It wraps, never forks: results and errors are the inner file system's.
 *
 * Contract:
 * - Ops are appended when the call completes, successful or not (a failed
 *   call carries `error`). Reads, stats and opens in `read`/`write` mode are
 *   not logged; `create` is, since it makes a name.
 * - Handles follow their inode across renames, so each handle op is logged
 *   with the path the file has at that moment (or `orphaned`).
 * - With `{ recording: false }`, nothing is logged until `start()`; path
 *   tracking runs all the time so handles opened earlier log correct paths.
 * - For a faithful log of injected faults, wrap the faulty file system:
 *   `new RecordingFileSystem(new FaultyFileSystem(memory))`.
 */
import { posix } from 'node:path';
import { isHoldfastError } from '../errors.js';
import type { FileHandle, FileStat, FileSystem, OpenMode, OpenOptions } from './file-system.js';
import { statOrUndefined } from './file-utils.js';
import { errnoOf } from './fs-errors.js';
import type { Op, OpInput } from './op-log.js';

interface RecordingOptions {
  /** Log from construction (default) or only after `start()`. */
  recording?: boolean;
}

/** Errors after which a failed pwrite may still have put (some of) its bytes in the file. */
const MAYBE_WRITTEN_ERRNOS = new Set(['EIO', 'ENOSPC', 'EDQUOT']);

function normalize(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function isAtOrUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

export class RecordingFileSystem implements FileSystem {
  readonly name: string;
  readonly directIoAlignBytes: number;
  private readonly ops: Op[] = [];
  private active: boolean;
  private readonly handles = new Set<RecordingFileHandle>();
  private nextHandleId = 0;

  constructor(
    readonly inner: FileSystem,
    options: RecordingOptions = {},
  ) {
    this.name = `recording(${inner.name})`;
    this.directIoAlignBytes = inner.directIoAlignBytes;
    this.active = options.recording ?? true;
  }

  /** The ops recorded so far; entries are never changed once appended. */
  get log(): readonly Op[] {
    return this.ops;
  }

  get recording(): boolean {
    return this.active;
  }

  start(): void {
    this.active = true;
  }

  stop(): void {
    this.active = false;
  }

  /** @internal (handles) Runs `call`, then logs `op` (with `error` if it threw). `onError` may rewrite the failed op. */
  async logged<T>(op: OpInput, call: () => Promise<T>, onError?: (e: unknown) => OpInput): Promise<T> {
    try {
      const result = await call();
      this.append(op);
      return result;
    } catch (e) {
      this.append({ ...(onError?.(e) ?? op), error: errnoOf(e) ?? 'EUNKNOWN' } as OpInput);
      throw e;
    }
  }

  private append(op: OpInput): void {
    if (this.active) this.ops.push({ ...op, index: this.ops.length } as Op);
  }

  /** @internal (handles) The index the next op will get: syncs note it when issued (`issuedAt`). */
  get nextIndex(): number {
    return this.ops.length;
  }

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const handleId = this.nextHandleId++;
    const open = (): Promise<FileHandle> => this.inner.open(path, mode, options);
    // An append that creates the file is a create as far as the crash model is concerned.
    const creates = mode === 'create' || (mode === 'append' && (await statOrUndefined(this.inner, path)) === undefined);
    const inner = creates ? await this.logged({ kind: 'create', path, handleId }, open) : await open();
    const handle = new RecordingFileHandle(path, handleId, inner, this, mode === 'append');
    this.handles.add(handle);
    return handle;
  }

  /** @internal (handles) A closed handle no longer needs its path followed. */
  forget(handle: RecordingFileHandle): void {
    this.handles.delete(handle);
  }

  mkdir(path: string): Promise<void> {
    return this.logged({ kind: 'mkdir', path }, () => this.inner.mkdir(path));
  }

  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.logged({ kind: 'rename', from, to }, () => this.inner.rename(from, to));
    this.followRename(normalize(from), normalize(to));
  }

  async unlink(path: string): Promise<void> {
    await this.logged({ kind: 'unlink', path }, () => this.inner.unlink(path));
    this.orphan(normalize(path));
  }

  async rmdir(path: string): Promise<void> {
    await this.logged({ kind: 'rmdir', path }, () => this.inner.rmdir(path));
    this.orphan(normalize(path));
  }

  syncDir(path: string): Promise<void> {
    return this.logged({ kind: 'syncDir', path, issuedAt: this.nextIndex }, () => this.inner.syncDir(path));
  }

  private orphan(path: string): void {
    for (const h of this.handles) if (h.currentPath === path) h.orphaned = true;
  }

  private followRename(from: string, to: string): void {
    if (from === to) return;
    for (const h of this.handles) {
      if (!h.orphaned && h.currentPath === to) h.orphaned = true; // the target's old inode lost its name
    }
    for (const h of this.handles) {
      if (!h.orphaned && isAtOrUnder(h.currentPath, from)) h.currentPath = to + h.currentPath.slice(from.length);
    }
  }
}

class RecordingFileHandle implements FileHandle {
  currentPath: string;
  orphaned = false;

  constructor(
    readonly path: string,
    private readonly handleId: number,
    private readonly inner: FileHandle,
    private readonly owner: RecordingFileSystem,
    private readonly appends: boolean,
  ) {
    this.currentPath = normalize(path);
  }

  private target(): { path: string; handleId: number; orphaned?: boolean } {
    const t = { path: this.currentPath, handleId: this.handleId };
    return this.orphaned ? { ...t, orphaned: true } : t;
  }

  async pwrite(data: Uint8Array, position: number): Promise<void> {
    if (!this.owner.recording) return this.inner.pwrite(data, position);
    // O_APPEND ignores the position: log where the bytes really land, so the crash model replays them there.
    const offset = this.appends ? (await this.inner.stat()).sizeBytes : position;
    const op = { kind: 'pwrite', ...this.target(), offset, data: data.slice() } as const;
    return this.owner.logged(op, () => this.inner.pwrite(data, position), (e) => ({ ...op, data: maybeWritten(data, e) }));
  }

  pread(into: Uint8Array, position: number, length?: number): Promise<number> {
    return this.inner.pread(into, position, length);
  }

  truncate(sizeBytes: number): Promise<void> {
    return this.owner.logged({ kind: 'truncate', ...this.target(), sizeBytes }, () => this.inner.truncate(sizeBytes));
  }

  sync(): Promise<void> {
    const op = { kind: 'fsync', ...this.target(), issuedAt: this.owner.nextIndex } as const;
    return this.owner.logged(op, () => this.inner.sync());
  }

  datasync(): Promise<void> {
    const op = { kind: 'fdatasync', ...this.target(), issuedAt: this.owner.nextIndex } as const;
    return this.owner.logged(op, () => this.inner.datasync());
  }

  stat(): Promise<FileStat> {
    return this.inner.stat();
  }

  async close(): Promise<void> {
    this.owner.forget(this);
    await this.inner.close();
  }
}

/**
 * What a failed pwrite may have left in the file: the prefix the error reports
 * (`data.bytesWritten`, set by `FaultyFileSystem`), else everything for errors
 * that can strike mid-write (EIO/ENOSPC/EDQUOT), else nothing (EBADF, EINVAL…).
 */
function maybeWritten(data: Uint8Array, e: unknown): Uint8Array {
  const written = isHoldfastError(e) ? e.data['bytesWritten'] : undefined;
  if (typeof written === 'number') return data.slice(0, written);
  return MAYBE_WRITTEN_ERRNOS.has(errnoOf(e) ?? '') ? data.slice() : new Uint8Array(0);
}
