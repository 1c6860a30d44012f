/**
 * A `FileSystem` that forwards every call and SIGKILLs its own process right
 * after the n-th completed call of one kind: the kill campaign's precise
 * crash points "right after each fsync and rename" (rule B3,
 * docs/CRASH-MODEL.md: CrashMonkey found every known crash bug right after an
 * fsync-family call). The kill is `process.kill(pid, 'SIGKILL')`: the same
 * uncatchable signal the parent sends for timed kills, delivered
 * synchronously, so no later line of JavaScript runs (no `finally`, no
 * `abandon()` cleanup).
 */
import type { FileHandle, FileStat, FileSystem, OpenMode, OpenOptions } from '../fs/file-system.js';
import { FileSystemWrapper } from '../fs/file-system-wrapper.js';

/** Call kinds a kill can follow. `sync` is fsync or fdatasync of a file. */
const KILL_OP_KINDS = ['create', 'pwrite', 'close', 'sync', 'truncate', 'mkdir', 'rename', 'syncdir', 'unlink'] as const;
export type KillOpKind = (typeof KILL_OP_KINDS)[number];

export interface KillAfterOp {
  kind: KillOpKind;
  /** 1-based: the n-th call of `kind` since the trigger was armed. */
  n: number;
}

export function parseKillAfterOp(text: string): KillAfterOp {
  const m = /^([a-z]+):([0-9]+)$/.exec(text);
  const kind = m?.[1] as KillOpKind | undefined;
  const n = Number(m?.[2]);
  if (kind === undefined || !KILL_OP_KINDS.includes(kind) || !Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`kill point must be <kind>:<n> with kind one of ${KILL_OP_KINDS.join(', ')} and n >= 1, got ${JSON.stringify(text)}`);
  }
  return { kind, n };
}

export function formatKillAfterOp(k: KillAfterOp): string {
  return `${k.kind}:${k.n}`;
}

export class KillTriggerFileSystem extends FileSystemWrapper {
  private seen = 0;
  private armed = false;

  constructor(
    inner: FileSystem,
    private readonly trigger: KillAfterOp | undefined,
    private readonly kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
  ) {
    super(inner, 'kill-trigger');
  }

  /** Calls before `arm()` (opening the store) do not count. */
  arm(): void {
    this.armed = true;
  }

  /** Counts a completed call; kills when it is the chosen one. */
  after(kind: KillOpKind): void {
    if (!this.armed || this.trigger === undefined || kind !== this.trigger.kind) return;
    this.seen += 1;
    if (this.seen === this.trigger.n) this.kill();
  }

  override async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const fh = await this.inner.open(path, mode, options);
    if (mode === 'create') this.after('create');
    return new KillTriggerHandle(fh, this);
  }

  override async mkdir(path: string): Promise<void> {
    await this.inner.mkdir(path);
    this.after('mkdir');
  }

  override async rename(from: string, to: string): Promise<void> {
    await this.inner.rename(from, to);
    this.after('rename');
  }

  override async unlink(path: string): Promise<void> {
    await this.inner.unlink(path);
    this.after('unlink');
  }

  override async rmdir(path: string): Promise<void> {
    await this.inner.rmdir(path);
    this.after('unlink');
  }

  override async syncDir(path: string): Promise<void> {
    await this.inner.syncDir(path);
    this.after('syncdir');
  }
}

class KillTriggerHandle implements FileHandle {
  readonly path: string;

  constructor(
    private readonly inner: FileHandle,
    private readonly fs: KillTriggerFileSystem,
  ) {
    this.path = inner.path;
  }

  async pwrite(data: Uint8Array, position: number): Promise<void> {
    await this.inner.pwrite(data, position);
    this.fs.after('pwrite');
  }

  pread(into: Uint8Array, position: number, length?: number): Promise<number> {
    return this.inner.pread(into, position, length);
  }

  async truncate(sizeBytes: number): Promise<void> {
    await this.inner.truncate(sizeBytes);
    this.fs.after('truncate');
  }

  async sync(): Promise<void> {
    await this.inner.sync();
    this.fs.after('sync');
  }

  async datasync(): Promise<void> {
    await this.inner.datasync();
    this.fs.after('sync');
  }

  stat(): Promise<FileStat> {
    return this.inner.stat();
  }

  async close(): Promise<void> {
    await this.inner.close();
    this.fs.after('close');
  }
}
