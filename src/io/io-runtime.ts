/**
 * The io layer's long-lived resources, owned by whoever opens them (a store,
 * or a caller sharing one runtime between several stores). Contract: a
 * runtime holds the hashing worker pool, the aligned write/read buffers, the
 * staging buffers that carry kept bytes to the hashing workers, the snapshot
 * staging memory and the O_DIRECT refusal cache; every io entry point takes
 * it in its options. Workers start lazily (or all at once with `warm()`) and
 * are unref'd while idle, so an open runtime never keeps a process alive.
 * `close()` terminates the workers and drops every buffer; it is idempotent,
 * and any later use of the runtime throws HF_ABORTED naming the runtime as
 * closed. Closing while a save or restore is still running fails that
 * operation (its hash streams reject), so close after awaiting them.
 *
 * Why not process-wide singletons: a process (a test runner, a server with
 * several stores) could never give the memory back or stop the workers, and a
 * store's options (worker count, flags) could not differ from another's.
 */
import { HoldfastError } from '../errors.js';
import { AlignedBufferPool } from './aligned-memory.js';
import { CipherPool } from './cipher-pool.js';
import { DirectRefusals } from './direct-io-support.js';
import { HashWorkerPool } from './hash-worker-pool.js';
import { StagingMemory } from './staging-memory.js';
import type { WorkerFlags } from './worker-flags.js';

export interface IoRuntimeOptions {
  /** Hashing worker threads; default min(4, cores); 0 hashes on the calling thread. */
  hashWorkers?: number;
  /** The flags hashing workers start with; default the host's loader flags only. */
  workerFlags?: WorkerFlags;
  /** Size of one write/read buffer (a multiple of 64 KiB), default 16 MiB. */
  bufferBytes?: number;
  /** Write/read buffers at most, default 8. */
  maxBuffers?: number;
}

interface Resources {
  hashers: HashWorkerPool;
  buffers: AlignedBufferPool;
  hashStaging: AlignedBufferPool;
  staging: StagingMemory;
  directRefusals: DirectRefusals;
  /** Started on first use: only encrypted checkpoints need it. */
  ciphers?: CipherPool;
}

export class IoRuntime {
  private resources: Resources | undefined;
  private readonly workerFlags: WorkerFlags | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: IoRuntimeOptions = {}) {
    const buffers: { bufferBytes?: number; maxBuffers?: number } = {};
    if (options.bufferBytes !== undefined) buffers.bufferBytes = options.bufferBytes;
    if (options.maxBuffers !== undefined) buffers.maxBuffers = options.maxBuffers;
    const hashers: { workers?: number; flags?: WorkerFlags } = {};
    if (options.hashWorkers !== undefined) hashers.workers = options.hashWorkers;
    if (options.workerFlags !== undefined) hashers.flags = options.workerFlags;
    this.workerFlags = options.workerFlags;
    this.resources = {
      hashers: new HashWorkerPool(hashers),
      buffers: new AlignedBufferPool(buffers),
      // Where kept bytes are copied to reach a hashing worker: 8 × 4 MiB. Small because a piece lives
      // only from its copy to the end of its hash (≈2.5 ms), so a few keep the workers fed; and a
      // restore in a fresh process pays the first touch of 32 MiB here instead of 128 MiB.
      hashStaging: new AlignedBufferPool({ bufferBytes: 4 * 1024 * 1024, maxBuffers: 8 }),
      staging: new StagingMemory(),
      directRefusals: new DirectRefusals(),
    };
  }

  /** Where hashing runs. */
  get hashers(): HashWorkerPool {
    return this.open().hashers;
  }
  /** Page-aligned buffers for writes (the coalescing copy) and for reads whose bytes are not kept. */
  get buffers(): AlignedBufferPool {
    return this.open().buffers;
  }
  /** Small shared buffers that carry kept (restored) bytes to the hashing workers. */
  get hashStaging(): AlignedBufferPool {
    return this.open().hashStaging;
  }
  /** Snapshot memory of asynchronous saves, kept for reuse across saves. */
  get staging(): StagingMemory {
    return this.open().staging;
  }
  /** Directories that refused O_DIRECT, learned once per (FileSystem, directory). */
  get directRefusals(): DirectRefusals {
    return this.open().directRefusals;
  }

  /** Where encryption at rest seals and opens records (cipher-pool.ts), as many workers as the hashers. */
  get ciphers(): CipherPool {
    const r = this.open();
    return (r.ciphers ??= new CipherPool({ workers: r.hashers.size, flags: this.workerFlags }));
  }

  get closed(): boolean {
    return this.resources === undefined;
  }

  /**
   * Starts every hashing worker now (not at the first large file) and waits until they run or fail
   * to start. With `stateBytes`, also allocates and faults in the read/write buffers a save of
   * that many bytes uses (all of them past `maxBuffers` buffers' worth) and the restore's hash
   * staging, while the workers load: the first save then pays neither (measured in
   * docs/PERFORMANCE.md, "The first save of a process").
   */
  async warm(stateBytes?: number): Promise<void> {
    if (stateBytes !== undefined && !(stateBytes >= 0)) throw new HoldfastError('HF_INVALID_ARG', `warm needs a byte count >= 0, got ${String(stateBytes)}`);
    const r = this.open();
    const started = r.hashers.warm();
    if (stateBytes !== undefined) {
      r.buffers.reserve(Math.ceil(stateBytes / r.buffers.bufferBytes));
      if (stateBytes > 0) r.hashStaging.reserve(r.hashStaging.maxBuffers);
    }
    await started;
  }

  /** Stops the workers and drops all memory. Idempotent; concurrent calls share one close. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const r = this.resources!;
    this.resources = undefined;
    r.staging.trim();
    this.closing = Promise.all([r.hashers.close(), r.ciphers?.close()]).then(() => undefined);
    return this.closing;
  }

  private open(): Resources {
    if (this.resources === undefined) {
      throw new HoldfastError('HF_ABORTED', 'the io runtime is closed (its store was closed, or close() was called on it); open the store again to use it');
    }
    return this.resources;
  }
}
