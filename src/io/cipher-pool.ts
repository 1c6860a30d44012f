/**
 * AES-256-GCM records off the main thread (format/chunk-cipher.ts), beside the
 * hashing workers. Contract: `seal` resolves with ciphertext + tag of exactly
 * the bytes given, `open` with the plaintext or undefined when the record does
 * not authenticate; the caller's memory is copied before the call returns, so
 * it may be reused at once. Records go to the worker with the fewest
 * outstanding, so a file's records are sealed or opened in parallel.
 *
 * Where it is used: the bulk paths seal and open records on the hashing
 * workers, in the pass that hashes the file (`record-cipher-stream.ts`); this
 * pool takes records that arrive one at a time or out of that pass — a
 * caller's file copied into a checkpoint, a shard sealed whole before an
 * object upload, the records a ranged restore (`layout`) or a copy out
 * reads. Off the main thread, so a save or restore does not cap at one core's
 * AES-GCM rate on the core that copies tensors.
 *
 * A worker that cannot start, or dies, is not an error: its records, and every
 * later one, run on the calling thread (same bytes, slower). Workers are
 * unref'd while idle, as the hashing workers are.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HoldfastError } from '../errors.js';
import type { RecordPlace } from '../format/chunk-cipher.js';
import { runCipherRequest, type CipherReply, type CipherRequest } from './cipher-worker.js';
import { workerFlags, type WorkerFlags } from './worker-flags.js';

/** Records smaller than this are done inline: a message round trip costs more than the cipher. */
const INLINE_MAX_BYTES = 256 * 1024;

type Job = Omit<CipherRequest, 'seq'>;

interface Pending {
  resolve: (out: Uint8Array | undefined) => void;
  reject: (e: Error) => void;
}

class CipherWorker {
  private readonly worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  /** Records given to this worker and not yet done (waiting for its start included). */
  outstanding = 0;
  private nextSeq = 1;
  dead = false;
  /** True once the worker has loaded; false if it never will (its records then run inline). */
  readonly started: Promise<boolean>;
  private settleStart: (ok: boolean) => void = () => undefined;

  constructor(flags: WorkerFlags) {
    const env = { ...process.env };
    if (flags.nodeOptions === undefined) delete env['NODE_OPTIONS'];
    else env['NODE_OPTIONS'] = flags.nodeOptions;
    this.started = new Promise((resolve) => (this.settleStart = resolve));
    try {
      this.worker = new Worker(new URL('./cipher-worker.js', import.meta.url), { execArgv: flags.execArgv, env });
    } catch {
      this.dead = true;
      this.settleStart(false);
      return;
    }
    this.worker.on('message', (reply: CipherReply) => this.onReply(reply));
    this.worker.on('error', () => this.fail());
    this.worker.on('exit', () => this.fail());
  }

  async run(job: Job): Promise<Uint8Array | undefined> {
    // A private copy, taken before any await: the caller may reuse its memory once this returns.
    const input = job.input.slice();
    this.outstanding++;
    try {
      if (!(await this.started) || this.dead) return runCipherRequest({ ...job, input });
      const seq = this.nextSeq++;
      return await new Promise((resolve, reject) => {
        if (this.pending.size === 0) this.worker!.ref();
        this.pending.set(seq, { resolve, reject });
        this.worker!.postMessage({ ...job, input, seq } satisfies CipherRequest, [input.buffer]);
      });
    } finally {
      this.outstanding--;
    }
  }

  private onReply(reply: CipherReply): void {
    if (reply.seq === 0) {
      if (this.pending.size === 0) this.worker!.unref();
      this.settleStart(true);
      return;
    }
    const p = this.pending.get(reply.seq);
    if (p === undefined) return;
    this.pending.delete(reply.seq);
    if (this.pending.size === 0 && !this.dead) this.worker!.unref();
    if (reply.ok) p.resolve(reply.output);
    else p.reject(new HoldfastError('HF_IO', `encryption failed: ${reply.message}`));
  }

  /** Before the start: its records run inline. After: the records it had were transferred to it and are lost. */
  private fail(): void {
    if (this.dead) return;
    this.dead = true;
    this.settleStart(false);
    for (const p of this.pending.values()) p.reject(new HoldfastError('HF_IO', 'a cipher worker exited with records outstanding'));
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    this.fail();
    if (this.worker === undefined) return;
    this.worker.ref();
    await this.worker.terminate();
  }
}

export class CipherPool {
  readonly size: number;
  private workers: CipherWorker[] = [];
  private closed = false;

  private readonly flags: WorkerFlags;

  constructor(options: { workers?: number | undefined; flags?: WorkerFlags | undefined } = {}) {
    this.size = options.workers ?? Math.min(4, availableParallelism());
    this.flags = options.flags ?? workerFlags();
  }

  /** `key`: the 32-byte AES key (`EncryptionKey.key`). */
  seal(key: Uint8Array, place: RecordPlace, plain: Uint8Array): Promise<Uint8Array> {
    return this.run({ op: 'seal', key, nonce: place.nonce, aad: place.aad, input: plain }) as Promise<Uint8Array>;
  }

  open(key: Uint8Array, place: RecordPlace, stored: Uint8Array): Promise<Uint8Array | undefined> {
    return this.run({ op: 'open', key, nonce: place.nonce, aad: place.aad, input: stored });
  }

  private async run(job: Job): Promise<Uint8Array | undefined> {
    if (this.closed) throw new HoldfastError('HF_ABORTED', 'cipher worker pool closed');
    if (this.size === 0 || job.input.byteLength < INLINE_MAX_BYTES) return runCipherRequest(job);
    return this.pick().run(job);
  }

  private pick(): CipherWorker {
    this.workers = this.workers.filter((w) => !w.dead);
    let best: CipherWorker | undefined;
    for (const w of this.workers) if (best === undefined || w.outstanding < best.outstanding) best = w;
    if (best === undefined || (best.outstanding > 0 && this.workers.length < this.size)) {
      best = new CipherWorker(this.flags);
      if (!best.dead) this.workers.push(best);
    }
    return best;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
