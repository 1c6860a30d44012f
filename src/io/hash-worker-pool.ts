/**
 * SHA-256 off the main thread. Contract: `open()` starts a stream pinned to one
 * worker; `update(bytes)` resolves once the worker has hashed those bytes, so
 * the caller may then reuse the memory (and must not change it before);
 * `digest()` resolves with the lowercase hex of exactly the bytes passed to
 * `update`, in call order, as `createHash('sha256')` would give. Bytes living
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
 */
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HoldfastError } from '../errors.js';
import type { HashReply, HashRequest } from './hash-worker.js';

export interface HashStream {
  update(bytes: Uint8Array): Promise<void>;
  digest(): Promise<string>;
  /** Drops the stream (after an error); later calls reject. */
  abort(): void;
}

interface HashWorkerPoolOptions {
  /** Worker threads; default min(4, cores). 0 hashes inline on the calling thread (for comparisons). */
  workers?: number;
}

/** `Omit` that keeps a union a union. */
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

interface Pending {
  resolve: (reply: HashReply & { ok: true }) => void;
  reject: (e: Error) => void;
}

class HashWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;
  openStreams = 0;
  dead: Error | undefined;

  constructor() {
    this.worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (reply: HashReply) => this.onReply(reply));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`hash worker exited with code ${code}`)));
  }

  get outstanding(): number {
    return this.pending.size;
  }

  request(req: WithoutSeq<HashRequest>, transfer?: ArrayBuffer[]): Promise<HashReply & { ok: true }> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...req, seq } as HashRequest, transfer ?? []);
    });
  }

  private onReply(reply: HashReply): void {
    const p = this.pending.get(reply.seq);
    if (p === undefined) return;
    this.pending.delete(reply.seq);
    if (this.pending.size === 0 && this.dead === undefined) this.worker.unref();
    if (reply.ok) p.resolve(reply);
    else p.reject(new HoldfastError('HF_IO', `hashing failed: ${reply.message}`));
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = new HoldfastError('HF_IO', `hash worker failed: ${e.message}`, { cause: e });
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    this.dead ??= new HoldfastError('HF_ABORTED', 'hash worker pool closed');
    // An unref'd worker's 'exit' would not keep the loop alive: `terminate()` could then never settle.
    this.worker.ref();
    await this.worker.terminate();
  }
}

let nextStreamId = 1;

class WorkerHashStream implements HashStream {
  private readonly id = nextStreamId++;
  private readonly opened: Promise<unknown>;
  private done = false;

  constructor(private readonly worker: HashWorker) {
    worker.openStreams++;
    this.opened = worker.request({ op: 'open', stream: this.id });
    this.opened.catch(() => undefined);
  }

  update(bytes: Uint8Array): Promise<void> {
    if (this.done) return Promise.reject(new HoldfastError('HF_ABORTED', 'hash stream already finished'));
    if (bytes.byteLength === 0) return Promise.resolve();
    if (bytes.buffer instanceof SharedArrayBuffer) {
      return this.worker
        .request({ op: 'update', stream: this.id, buffer: bytes.buffer, byteOffset: bytes.byteOffset, byteLength: bytes.byteLength })
        .then(() => undefined);
    }
    const copy = bytes.slice();
    return this.worker
      .request({ op: 'update', stream: this.id, buffer: copy.buffer, byteOffset: 0, byteLength: copy.byteLength }, [copy.buffer])
      .then(() => undefined);
  }

  async digest(): Promise<string> {
    if (this.done) throw new HoldfastError('HF_ABORTED', 'hash stream already finished');
    this.finish();
    const reply = await this.worker.request({ op: 'digest', stream: this.id });
    return reply.hex!;
  }

  abort(): void {
    if (this.done) return;
    this.finish();
    this.worker.request({ op: 'abort', stream: this.id }).catch(() => undefined);
  }

  private finish(): void {
    this.done = true;
    this.worker.openStreams--;
  }
}

class InlineHashStream implements HashStream {
  private hash: Hash | undefined = createHash('sha256');

  async update(bytes: Uint8Array): Promise<void> {
    if (!this.hash) throw new HoldfastError('HF_ABORTED', 'hash stream already finished');
    this.hash.update(bytes);
  }
  async digest(): Promise<string> {
    if (!this.hash) throw new HoldfastError('HF_ABORTED', 'hash stream already finished');
    const hex = this.hash.digest('hex');
    this.hash = undefined;
    return hex;
  }
  abort(): void {
    this.hash = undefined;
  }
}

const INLINE_HASH_MAX_BYTES = 1024 * 1024;

export class HashWorkerPool {
  readonly size: number;
  private workers: HashWorker[] = [];
  private closed = false;

  constructor(options: HashWorkerPoolOptions = {}) {
    const n = options.workers ?? Math.min(4, availableParallelism());
    if (!Number.isInteger(n) || n < 0) throw new HoldfastError('HF_INVALID_ARG', `workers must be a non-negative integer, got ${n}`);
    this.size = n;
  }

  /**
   * Starts a stream on the worker with the fewest open streams (workers start lazily). A stream
   * known to be small (`expectedBytes` under 1 MiB) is hashed inline: posting it to a worker costs
   * more than hashing it (~0.6 ms per MiB at 1.7 GB/s, against a message round trip per chunk).
   */
  open(expectedBytes?: number): HashStream {
    if (this.closed) throw new HoldfastError('HF_ABORTED', 'hash worker pool closed');
    if (this.size === 0 || (expectedBytes !== undefined && expectedBytes < INLINE_HASH_MAX_BYTES)) return new InlineHashStream();
    this.workers = this.workers.filter((w) => w.dead === undefined);
    let best: HashWorker | undefined;
    for (const w of this.workers) {
      if (best === undefined || w.openStreams < best.openStreams || (w.openStreams === best.openStreams && w.outstanding < best.outstanding)) best = w;
    }
    if (best === undefined || (best.openStreams > 0 && this.workers.length < this.size)) {
      best = new HashWorker();
      this.workers.push(best);
    }
    return new WorkerHashStream(best);
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

let shared: HashWorkerPool | undefined;

/** The process-wide pool used when a caller passes none. Its idle workers never keep the process alive. */
export function sharedHashWorkerPool(): HashWorkerPool {
  shared ??= new HashWorkerPool();
  return shared;
}
