/**
 * A `FileSystem` wrapper that freezes one save at a chosen instant, so the
 * supervisor can SIGKILL the worker in the middle of writing a checkpoint:
 *
 *   pwrite   half of the first shard write reaches the file, then nothing (a torn shard)
 *   sync     the shard is written but its fsync never returns
 *   rename   every file is written and synced; the commit rename never happens
 *
 * The operation never completes: the wrapper reports the stall (`onStall`)
 * and returns a promise that never settles, and the supervisor, told by the
 * worker, kills the process while the save is stuck there. Everything else
 * passes straight through.
 */
import type { FileHandle, FileStat, FileSystem, OpenMode, OpenOptions } from '../fs/file-system.js';
import { FileSystemWrapper } from '../fs/file-system-wrapper.js';
import { STAGING_DIR, stagingDirName } from '../format/names.js';

export type StallOp = 'pwrite' | 'sync' | 'rename';
export const STALL_OPS: readonly StallOp[] = ['pwrite', 'sync', 'rename'];

export interface StallPlan {
  /** The checkpoint step whose save is frozen. */
  step: number;
  op: StallOp;
}

const never = (): Promise<never> => new Promise<never>(() => undefined);

export class StallingFileSystem extends FileSystemWrapper {
  readonly #marker: string;
  #stalled = false;

  constructor(
    inner: FileSystem,
    private readonly plan: StallPlan,
    private readonly onStall: (op: StallOp, path: string) => void,
  ) {
    super(inner, 'stalling');
    // The staging directory of this step is `.staging/<12-digit step>-<nonce>`.
    this.#marker = `/${STAGING_DIR}/${stagingDirName(plan.step, '')}`;
  }

  /** True (once) when `op` on `path` is the planned freeze point. */
  #hit(op: StallOp, path: string): boolean {
    if (this.#stalled || op !== this.plan.op || !path.includes(this.#marker)) return false;
    if (op === 'pwrite' && !path.endsWith('.safetensors')) return false;
    this.#stalled = true;
    this.onStall(op, path);
    return true;
  }

  override async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const h = await this.inner.open(path, mode, options);
    return this.#wrap(h, options?.direct === true);
  }

  #wrap(h: FileHandle, direct: boolean): FileHandle {
    const outer = this;
    return {
      path: h.path,
      async pwrite(data: Uint8Array, position: number): Promise<void> {
        if (outer.plan.op === 'pwrite' && !outer.#stalled && h.path.includes(outer.#marker) && h.path.endsWith('.safetensors')) {
          // Write a prefix first, so the kill leaves a torn file, as a crash mid-write would.
          let half = Math.floor(data.byteLength / 2);
          if (direct) half -= half % outer.directIoAlignBytes;
          if (half > 0) await h.pwrite(data.subarray(0, half), position);
          outer.#hit('pwrite', h.path);
          return never();
        }
        return h.pwrite(data, position);
      },
      pread: (into, position, length) => h.pread(into, position, length),
      truncate: (sizeBytes) => h.truncate(sizeBytes),
      sync: () => (outer.#hit('sync', h.path) ? never() : h.sync()),
      datasync: () => (outer.#hit('sync', h.path) ? never() : h.datasync()),
      stat: (): Promise<FileStat> => h.stat(),
      close: () => h.close(),
    };
  }

  override rename(from: string, to: string): Promise<void> {
    return this.#hit('rename', from) ? never() : this.inner.rename(from, to);
  }
}
