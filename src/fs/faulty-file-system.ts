/**
 * A `FileSystem` that forwards to another one and injects I/O faults by rule
 * (rule R10, docs/CRASH-MODEL.md; RocksDB FaultInjectionTestFS, SQLite's "fail the Nth call" loops):
 * EIO, ENOSPC or EDQUOT on the Nth call of a kind (or any mutating call,
 * optionally only on matching paths), once or persistently; short writes on
 * ENOSPC/EDQUOT; EINVAL on O_DIRECT handles only (a file system that accepts
 * O_DIRECT at open and refuses the write); and for `pread`, an error, a short
 * read or one altered byte (corruption class C14).
 *
 * Contract:
 * - Every call through this file system or its handles is numbered from 0
 *   (`callCount`, `callLog`), so a test can run a workload once, then rerun it
 *   with `failAtCall(i, …)` for every i below the total.
 * - An injected error means the call did not happen, except a pwrite that
 *   wrote a prefix first (`data.bytesWritten` on the error) and `close`, which
 *   always releases the handle, as close(2) does.
 * - Errors look like the real ones (`HF_IO`, `data.errno`) plus
 *   `data.injected: true`.
 * - Nothing is retried or remembered: after an injected fsync failure, later
 *   syncs simply forward. Catching an engine that retries a failed fsync and
 *   then reports success is the test's job (R10: such data is undetermined).
 * - Random choices (which byte to alter) come from `seed` and the call index.
 * - `openHandles` counts handles opened and not yet closed, so a test can
 *   check that a failed write still closed its file.
 * - Under a crash model, put the recorder outside:
 *   `new RecordingFileSystem(new FaultyFileSystem(memory))`, so the log holds
 *   the failed syncs (R10 poisoning) and the exact prefix of short writes.
 */
import { invalidArg } from '../errors.js';
import type { FileHandle, FileStat, FileSystem, OpenMode, OpenOptions } from './file-system.js';
import { errnoError } from './fs-errors.js';
import { SeededRandom } from './seeded-random.js';

type CallKind =
  | 'open'
  | 'create'
  | 'mkdir'
  | 'readdir'
  | 'stat'
  | 'rename'
  | 'unlink'
  | 'rmdir'
  | 'syncDir'
  | 'pwrite'
  | 'pread'
  | 'truncate'
  | 'fsync'
  | 'fdatasync'
  | 'fstat'
  | 'close';

/** Calls that change the tree or its durability (`create` is an open in create mode). */
const MUTATING_CALLS: ReadonlySet<CallKind> = new Set<CallKind>(['create', 'mkdir', 'rename', 'unlink', 'rmdir', 'syncDir', 'pwrite', 'truncate', 'fsync', 'fdatasync']);

const SYSCALLS: Record<CallKind, string> = {
  open: 'open',
  create: 'open',
  mkdir: 'mkdir',
  readdir: 'readdir',
  stat: 'lstat',
  rename: 'rename',
  unlink: 'unlink',
  rmdir: 'rmdir',
  syncDir: 'fsync',
  pwrite: 'pwrite',
  pread: 'pread',
  truncate: 'ftruncate',
  fsync: 'fsync',
  fdatasync: 'fdatasync',
  fstat: 'fstat',
  close: 'close',
};

/** EROFS stands for a store on a read-only mount or snapshot. */
export type InjectedErrno = 'EIO' | 'ENOSPC' | 'EDQUOT' | 'EROFS' | 'EINVAL';

type Fault =
  /** For pwrite, `writtenBytes` land before the error (default: half the buffer for ENOSPC/EDQUOT, none for EIO). */
  | { type: 'error'; errno: InjectedErrno; writtenBytes?: number }
  /** pread only: returns at most `readBytes` (default half of what was read). */
  | { type: 'shortRead'; readBytes?: number }
  /** pread only: one byte of the returned data is XORed with a nonzero value. */
  | { type: 'flipByte' };

interface FaultRule {
  /** Which calls the rule counts. */
  on: CallKind | 'mutating' | 'any';
  /** Fault the nth matching call, 0-based (default 0). */
  nth?: number;
  /** Only calls on a path containing this substring, or accepted by this predicate (rename: either path). */
  path?: string | ((path: string) => boolean);
  /** Only calls on handles opened with (true) or without (false) `{ direct: true }`, and only such opens. */
  direct?: boolean;
  fault: Fault;
  /** Also fault every later matching call (default: only once). */
  persistent?: boolean;
}

interface CallRecord {
  index: number;
  kind: CallKind;
  path: string;
}

export interface InjectedFault extends CallRecord {
  fault: Fault;
  /** For flipByte: the file offset altered; for short writes/reads: the byte count. */
  detail?: string;
}

interface ActiveRule extends FaultRule {
  matched: number;
  fired: boolean;
  /** `failAtCall` rules fire at a global call index, then (if persistent) on that call's kind. */
  atCall?: number;
}

function kindMatches(on: FaultRule['on'], kind: CallKind): boolean {
  return on === 'any' || on === kind || (on === 'mutating' && MUTATING_CALLS.has(kind));
}

function directMatches(rule: FaultRule, direct: boolean): boolean {
  return rule.direct === undefined || rule.direct === direct;
}

function pathMatches(rule: FaultRule, paths: readonly string[]): boolean {
  const p = rule.path;
  if (p === undefined) return true;
  return paths.some((path) => (typeof p === 'string' ? path.includes(p) : p(path)));
}

export class FaultyFileSystem implements FileSystem {
  readonly name: string;
  readonly directIoAlignBytes: number;
  private readonly rules: ActiveRule[] = [];
  private readonly calls: CallRecord[] = [];
  private readonly faults: InjectedFault[] = [];
  private readonly seed: number;
  private handlesOpen = 0;

  constructor(
    readonly inner: FileSystem,
    options: { seed?: number } = {},
  ) {
    this.name = `faulty(${inner.name})`;
    this.directIoAlignBytes = inner.directIoAlignBytes;
    this.seed = options.seed ?? 0;
  }

  get callCount(): number {
    return this.calls.length;
  }

  get callLog(): readonly CallRecord[] {
    return this.calls;
  }

  get injected(): readonly InjectedFault[] {
    return this.faults;
  }

  get openHandles(): number {
    return this.handlesOpen;
  }

  addRule(rule: FaultRule): this {
    if (rule.fault.type !== 'error' && rule.on !== 'pread') throw invalidArg(`fault ${rule.fault.type} applies to pread only`);
    this.rules.push({ ...rule, matched: 0, fired: false });
    return this;
  }

  /** SQLite-style: fault global call `index` with `errno`; if persistent, also every later call of the same kind. */
  failAtCall(index: number, errno: InjectedErrno, options: { persistent?: boolean; writtenBytes?: number } = {}): this {
    const fault: Fault = options.writtenBytes === undefined ? { type: 'error', errno } : { type: 'error', errno, writtenBytes: options.writtenBytes };
    this.rules.push({ on: 'any', fault, persistent: options.persistent === true, matched: 0, fired: false, atCall: index });
    return this;
  }

  clearRules(): this {
    this.rules.length = 0;
    return this;
  }

  /** @internal (handles) Numbers the call and returns the fault to inject, if a rule fires. */
  intercept(kind: CallKind, paths: readonly string[], direct = false): { index: number; fault: Fault | undefined } {
    const index = this.calls.length;
    this.calls.push({ index, kind, path: paths.join(' -> ') });
    for (const rule of this.rules) {
      if (!this.fires(rule, kind, paths, index, direct)) continue;
      this.faults.push({ index, kind, path: paths.join(' -> '), fault: rule.fault });
      return { index, fault: rule.fault };
    }
    return { index, fault: undefined };
  }

  private fires(rule: ActiveRule, kind: CallKind, paths: readonly string[], index: number, direct: boolean): boolean {
    if (rule.fired && !rule.persistent) return false;
    if (rule.atCall !== undefined && !rule.fired) {
      if (index !== rule.atCall) return false;
      rule.on = kind;
      return (rule.fired = true);
    }
    if (!kindMatches(rule.on, kind) || !pathMatches(rule, paths) || !directMatches(rule, direct)) return false;
    if (rule.fired) return true;
    if (rule.matched++ !== (rule.nth ?? 0)) return false;
    return (rule.fired = true);
  }

  /** @internal (handles) Attaches a detail to the most recent injected fault. */
  noteDetail(detail: string): void {
    const last = this.faults[this.faults.length - 1];
    if (last !== undefined) last.detail = detail;
  }

  /** @internal (handles) The random stream of one call. */
  random(callIndex: number): SeededRandom {
    return new SeededRandom(this.seed, callIndex);
  }

  /** @internal (handles) Runs `run` unless an error fault fires for this call. */
  async guarded<T>(kind: CallKind, paths: readonly string[], run: () => Promise<T>, direct = false): Promise<T> {
    const { fault } = this.intercept(kind, paths, direct);
    if (fault?.type === 'error') throw errnoError(SYSCALLS[kind], paths.join(' -> '), fault.errno, { injected: true });
    return run();
  }

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const direct = options?.direct === true;
    const inner = await this.guarded(mode === 'create' ? 'create' : 'open', [path], () => this.inner.open(path, mode, options), direct);
    this.handlesOpen++;
    return new FaultyFileHandle(path, inner, this, direct);
  }

  /** @internal (handles) */
  handleClosed(): void {
    this.handlesOpen--;
  }

  mkdir(path: string): Promise<void> {
    return this.guarded('mkdir', [path], () => this.inner.mkdir(path));
  }

  readdir(path: string): Promise<string[]> {
    return this.guarded('readdir', [path], () => this.inner.readdir(path));
  }

  stat(path: string): Promise<FileStat> {
    return this.guarded('stat', [path], () => this.inner.stat(path));
  }

  rename(from: string, to: string): Promise<void> {
    return this.guarded('rename', [from, to], () => this.inner.rename(from, to));
  }

  unlink(path: string): Promise<void> {
    return this.guarded('unlink', [path], () => this.inner.unlink(path));
  }

  rmdir(path: string): Promise<void> {
    return this.guarded('rmdir', [path], () => this.inner.rmdir(path));
  }

  syncDir(path: string): Promise<void> {
    return this.guarded('syncDir', [path], () => this.inner.syncDir(path));
  }
}

class FaultyFileHandle implements FileHandle {
  /** O_DIRECT handles can only land whole aligned blocks, so a short write is rounded down to them. */
  private readonly writeAlignBytes: number;

  constructor(
    readonly path: string,
    private readonly inner: FileHandle,
    private readonly owner: FaultyFileSystem,
    private readonly direct: boolean,
  ) {
    this.writeAlignBytes = direct ? owner.directIoAlignBytes : 1;
  }

  async pwrite(data: Uint8Array, position: number): Promise<void> {
    const { fault } = this.owner.intercept('pwrite', [this.path], this.direct);
    if (fault?.type !== 'error') return this.inner.pwrite(data, position);
    const half = Math.floor(data.byteLength / 2);
    // Only a full disk or quota lands a prefix; EIO and EINVAL write nothing.
    const defaultBytes = fault.errno === 'ENOSPC' || fault.errno === 'EDQUOT' ? half - (half % this.writeAlignBytes) : 0;
    const written = Math.max(0, Math.min(data.byteLength, fault.writtenBytes ?? defaultBytes));
    // A short write: the prefix really lands, as when the disk fills mid-write.
    if (written > 0) await this.inner.pwrite(data.subarray(0, written), position);
    this.owner.noteDetail(`wrote ${written} of ${data.byteLength} bytes`);
    throw errnoError('pwrite', this.path, fault.errno, { injected: true, bytesWritten: written });
  }

  async pread(into: Uint8Array, position: number, length?: number): Promise<number> {
    const { index, fault } = this.owner.intercept('pread', [this.path], this.direct);
    if (fault?.type === 'error') throw errnoError('pread', this.path, fault.errno, { injected: true });
    const n = await this.inner.pread(into, position, length);
    if (fault?.type === 'shortRead') {
      const short = Math.min(n, fault.readBytes ?? Math.floor(n / 2));
      this.owner.noteDetail(`returned ${short} of ${n} bytes`);
      return short;
    }
    if (fault?.type === 'flipByte' && n > 0) {
      const rng = this.owner.random(index);
      const at = rng.nextInt(n);
      into[at] = into[at]! ^ (1 + rng.nextInt(255));
      this.owner.noteDetail(`altered byte at offset ${position + at}`);
    }
    return n;
  }

  truncate(sizeBytes: number): Promise<void> {
    return this.owner.guarded('truncate', [this.path], () => this.inner.truncate(sizeBytes), this.direct);
  }

  sync(): Promise<void> {
    return this.owner.guarded('fsync', [this.path], () => this.inner.sync(), this.direct);
  }

  datasync(): Promise<void> {
    return this.owner.guarded('fdatasync', [this.path], () => this.inner.datasync(), this.direct);
  }

  stat(): Promise<FileStat> {
    return this.owner.guarded('fstat', [this.path], () => this.inner.stat(), this.direct);
  }

  async close(): Promise<void> {
    const { fault } = this.owner.intercept('close', [this.path], this.direct);
    try {
      await this.inner.close(); // close(2) releases the descriptor even when it reports an error
    } finally {
      this.owner.handleClosed();
    }
    if (fault?.type === 'error') throw errnoError('close', this.path, fault.errno, { injected: true });
  }
}
