/**
 * SHA-256 off the main thread. Contract: `open()` starts a stream pinned to one
 * worker; `update(bytes)` resolves once the worker has hashed those bytes, so
 * the caller may then reuse the memory (and must not change it before);
 * `digest()` resolves with the digests of exactly the bytes passed to
 * `update`, in call order: for a stream opened with `chunkBytes`, the SHA-256
 * of each chunk of those bytes (chunk edges at stream offsets), and the
 * file's hash (`ChunkedSha256`): the plain SHA-256, as `createHash('sha256')`
 * would give, unless the stream was opened without the whole-file hash (then
 * derived from the chunk digests, each byte hashed once). Bytes living
 * in a SharedArrayBuffer (the aligned pool, staging arenas) reach the worker
 * without a copy; anything else is copied once and transferred.
 *
 * Why workers: one core hashes ≈1.8 GB/s (node -e createHash over 1 GiB of a
 * shared WebAssembly.Memory on the 2-core EPYC dev VM), while O_DIRECT writes
 * reach 2.1–3.9 GB/s (fio --rw=write --bs=16m --direct=1, psync / libaio qd4).
 * Hashing inline would cap a save at the hash rate and steal the core that
 * copies tensors into the write buffers. One file's hash is sequential, so
 * parallelism comes from hashing different files on different workers.
 *
 * Workers are unref'd while idle so an open pool never keeps a process alive,
 * and ref'd while a request is outstanding so an awaited hash always finishes.
 * They start with the host's loader flags only (`worker-flags.ts`). A worker
 * that still cannot start (a loader that fails in a worker, a broken
 * NODE_OPTIONS) is not an error: its streams, and every later one, are hashed
 * on the calling thread (slower, same digest) and say why in `fallbackReason`.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HoldfastError } from '../errors.js';
import { FilePass, type PassDigest } from './file-pass.js';
import type { HashReply, HashRequest } from './hash-worker.js';
import type { RecordCipherSpec } from './record-cipher-stream.js';
import { describeWorkerFlags, workerFlags, type WorkerFlags } from './worker-flags.js';

export interface HashStream {
  /**
   * Resolves once the bytes are hashed (and, with a cipher, transformed in place): with how many
   * bytes at their start are output (all of them, or the plaintext an open left there).
   */
  update(bytes: Uint8Array): Promise<number>;
  digest(): Promise<PassDigest>;
  /** Drops the stream (after an error); later calls reject. */
  abort(): void;
  /**
   * Set (by the time `digest` resolves) when the stream was meant for a worker but was hashed on
   * the calling thread because no worker could start; says which flags and what error.
   */
  readonly fallbackReason?: string | undefined;
}

interface HashWorkerPoolOptions {
  /** Worker threads; default min(4, cores). 0 hashes inline on the calling thread (for comparisons). */
  workers?: number;
  /** The flags workers start with; default the host's loader flags only (see `worker-flags.ts`). */
  flags?: WorkerFlags;
}

/** `Omit` that keeps a union a union. */
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

interface Pending {
  resolve: (reply: HashReply & { ok: true }) => void;
  reject: (e: Error) => void;
}

class HashWorker {
  private readonly worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;
  openStreams = 0;
  dead: Error | undefined;
  /**
   * Resolves with undefined once the worker has loaded, or with the reason it could not start
   * (then nothing was ever posted to it); rejects HF_ABORTED when the pool closes first.
   */
  readonly started: Promise<string | undefined>;
  private settleStart!: (reason: string | undefined) => void;
  private abortStart!: (e: Error) => void;
  private isStarted = false;

  constructor(private readonly flags: WorkerFlags) {
    this.started = new Promise((resolve, reject) => {
      this.settleStart = resolve;
      this.abortStart = reject;
    });
    this.started.catch(() => undefined);
    const env = { ...process.env };
    if (flags.nodeOptions === undefined) delete env['NODE_OPTIONS'];
    else env['NODE_OPTIONS'] = flags.nodeOptions;
    try {
      // Ref'd until it has started, so a caller waiting for the start is not dropped by an idle loop.
      this.worker = new Worker(new URL('./hash-worker.js', import.meta.url), { execArgv: flags.execArgv, env });
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    this.worker.on('message', (reply: HashReply) => this.onReply(reply));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`hash worker exited with code ${code}`)));
  }

  get outstanding(): number {
    return this.pending.size;
  }

  request(req: WithoutSeq<HashRequest>, transfer?: ArrayBuffer[]): Promise<HashReply & { ok: true }> {
    if (this.dead) return Promise.reject(this.dead);
    const worker = this.worker!;
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(seq, { resolve, reject });
      worker.postMessage({ ...req, seq } as HashRequest, transfer ?? []);
    });
  }

  private onReply(reply: HashReply): void {
    if (reply.seq === 0) {
      this.isStarted = true;
      if (this.pending.size === 0) this.worker!.unref();
      this.settleStart(undefined);
      return;
    }
    const p = this.pending.get(reply.seq);
    if (p === undefined) return;
    this.pending.delete(reply.seq);
    if (this.pending.size === 0 && this.dead === undefined) this.worker!.unref();
    if (reply.ok) p.resolve(reply);
    else p.reject(new HoldfastError('HF_IO', `hashing failed: ${reply.message}`));
  }

  private fail(e: Error): void {
    if (this.dead) return;
    if (this.isStarted) {
      this.dead = new HoldfastError('HF_IO', `hash worker failed: ${e.message}`, { cause: e });
    } else {
      const reason = `hash worker could not start (${describeWorkerFlags(this.flags)}): ${e.message}`;
      this.dead = new HoldfastError('HF_IO', reason, { cause: e });
      this.settleStart(`${reason}; hashed on the main thread instead`);
    }
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    this.dead ??= new HoldfastError('HF_ABORTED', 'hash worker pool closed');
    this.abortStart(this.dead);
    if (this.worker === undefined) return;
    // An unref'd worker's 'exit' would not keep the loop alive: `terminate()` could then never settle.
    this.worker.ref();
    await this.worker.terminate();
  }
}

let nextStreamId = 1;

class WorkerHashStream implements HashStream {
  private readonly id = nextStreamId++;
  /** Settles once the worker has started: undefined, or the inline hash used because it could not. */
  private readonly via: Promise<InlineHashStream | undefined>;
  private done = false;
  fallbackReason: string | undefined;

  constructor(
    private readonly worker: HashWorker,
    chunkBytes: number | undefined,
    wholeFile: boolean,
    private readonly cipher: RecordCipherSpec | undefined,
  ) {
    worker.openStreams++;
    // Every call below goes through `via.then`, whose callbacks run in registration order, so the
    // worker receives this stream's messages in call order.
    this.via = worker.started.then((reason) => {
      if (reason !== undefined) {
        this.fallbackReason = reason;
        return new InlineHashStream(chunkBytes, wholeFile, cipher, reason);
      }
      const open: Omit<Extract<HashRequest, { op: 'open' }>, 'seq'> = { op: 'open', stream: this.id };
      if (chunkBytes !== undefined) open.chunkBytes = chunkBytes;
      if (!wholeFile) open.wholeFile = false;
      if (cipher !== undefined) open.cipher = cipher;
      worker.request(open).catch(() => undefined);
      return undefined;
    });
    this.via.catch(() => undefined);
  }

  update(bytes: Uint8Array): Promise<number> {
    if (this.done) return Promise.reject(new HoldfastError('HF_ABORTED', 'hash stream already finished'));
    if (bytes.byteLength === 0) return Promise.resolve(0);
    return this.via.then((inline) => (inline !== undefined ? inline.update(bytes) : this.post(bytes)));
  }

  private async post(bytes: Uint8Array): Promise<number> {
    if (bytes.buffer instanceof SharedArrayBuffer) {
      const reply = await this.worker.request({ op: 'update', stream: this.id, buffer: bytes.buffer, byteOffset: bytes.byteOffset, byteLength: bytes.byteLength });
      return reply.output ?? bytes.byteLength;
    }
    // Not shared: a copy goes to the worker, and comes back when the worker transformed it.
    const copy = bytes.slice();
    const reply = await this.worker.request({ op: 'update', stream: this.id, buffer: copy.buffer, byteOffset: 0, byteLength: copy.byteLength }, [copy.buffer]);
    if (this.cipher !== undefined && reply.returned !== undefined) bytes.set(new Uint8Array(reply.returned));
    return reply.output ?? bytes.byteLength;
  }

  async digest(): Promise<PassDigest> {
    if (this.done) throw new HoldfastError('HF_ABORTED', 'hash stream already finished');
    this.finish();
    return this.via.then(async (inline) => (inline !== undefined ? inline.digest() : (await this.worker.request({ op: 'digest', stream: this.id })).digest!));
  }

  abort(): void {
    if (this.done) return;
    this.finish();
    this.via
      .then(async (inline) => {
        if (inline !== undefined) inline.abort();
        else await this.worker.request({ op: 'abort', stream: this.id });
      })
      .catch(() => undefined);
  }

  private finish(): void {
    this.done = true;
    this.worker.openStreams--;
  }
}

class InlineHashStream implements HashStream {
  private hash: FilePass | undefined;

  constructor(
    chunkBytes: number | undefined,
    wholeFile: boolean,
    cipher: RecordCipherSpec | undefined,
    readonly fallbackReason?: string,
  ) {
    this.hash = new FilePass(chunkBytes, wholeFile, cipher);
  }

  async update(bytes: Uint8Array): Promise<number> {
    if (!this.hash) throw new HoldfastError('HF_ABORTED', 'hash stream already finished');
    return this.hash.update(bytes);
  }
  async digest(): Promise<PassDigest> {
    if (!this.hash) throw new HoldfastError('HF_ABORTED', 'hash stream already finished');
    const digest = this.hash.digest();
    this.hash = undefined;
    return digest;
  }
  abort(): void {
    this.hash = undefined;
  }
}

const INLINE_HASH_MAX_BYTES = 1024 * 1024;

export class HashWorkerPool {
  readonly size: number;
  private readonly flags: WorkerFlags;
  private workers: HashWorker[] = [];
  private closed = false;
  /** Set once a worker could not start: later streams hash inline at once (the flags will not change). */
  private startFailure: string | undefined;

  constructor(options: HashWorkerPoolOptions = {}) {
    const n = options.workers ?? Math.min(4, availableParallelism());
    if (!Number.isInteger(n) || n < 0) throw new HoldfastError('HF_INVALID_ARG', `workers must be a non-negative integer, got ${n}`);
    this.size = n;
    this.flags = options.flags ?? workerFlags();
  }

  /** Why hashing runs on the calling thread instead of workers, if a worker could not start. */
  get fallbackReason(): string | undefined {
    return this.startFailure;
  }

  /**
   * Starts a stream on the worker with the fewest open streams (workers start lazily). A stream
   * known to be small (`expectedBytes` under 1 MiB) is hashed inline: posting it to a worker costs
   * more than hashing it (~0.6 ms per MiB at 1.7 GB/s, against a message round trip per chunk).
   * With `chunkBytes` the stream also gives the SHA-256 of each chunk of that size, and with
   * `wholeFile` false (and a chunk size) only those: the file hash is then derived from them.
   * With `cipher`, the stream also seals or opens the file's records in place (`FilePass`).
   */
  open(expectedBytes?: number, chunkBytes?: number, wholeFile = true, cipher?: RecordCipherSpec): HashStream {
    if (this.closed) throw new HoldfastError('HF_ABORTED', 'hash worker pool closed');
    if (this.size === 0 || (expectedBytes !== undefined && expectedBytes < INLINE_HASH_MAX_BYTES)) return new InlineHashStream(chunkBytes, wholeFile, cipher);
    if (this.startFailure !== undefined) return new InlineHashStream(chunkBytes, wholeFile, cipher, this.startFailure);
    this.workers = this.workers.filter((w) => w.dead === undefined);
    let best: HashWorker | undefined;
    for (const w of this.workers) {
      if (best === undefined || w.openStreams < best.openStreams || (w.openStreams === best.openStreams && w.outstanding < best.outstanding)) best = w;
    }
    if (best === undefined || (best.openStreams > 0 && this.workers.length < this.size)) {
      this.workers.push((best = this.startWorker()));
    }
    return new WorkerHashStream(best, chunkBytes, wholeFile, cipher);
  }

  /** Starts every worker now and waits until each runs or has failed to start (then `fallbackReason` says why). */
  async warm(): Promise<void> {
    if (this.closed) throw new HoldfastError('HF_ABORTED', 'hash worker pool closed');
    this.workers = this.workers.filter((w) => w.dead === undefined);
    while (this.startFailure === undefined && this.workers.length < this.size) this.workers.push(this.startWorker());
    await Promise.all(this.workers.map((w) => w.started.catch(() => undefined)));
  }

  private startWorker(): HashWorker {
    const w = new HashWorker(this.flags);
    w.started.then((reason) => (this.startFailure ??= reason)).catch(() => undefined);
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
