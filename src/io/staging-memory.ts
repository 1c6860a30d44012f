/**
 * Reusable page-aligned shared regions that snapshots copy a training state
 * into. Contract: `take(n)` returns a zeroed-or-reused region of exactly `n`
 * bytes (page-aligned start, shared memory, recognised by the O_DIRECT writer
 * as zero-copy capable); the region is the caller's alone until `give` hands
 * it back; regions are kept for the next snapshot instead of freed, because
 * first-touch of fresh memory costs page faults inside the training pause.
 * Old contents of a reused region are not cleared: snapshots overwrite every
 * byte they hand out.
 */
import { HoldfastError } from '../errors.js';
import { MAX_ALIGNED_BYTES, WASM_PAGE_BYTES, allocAligned, roundUp } from './aligned-memory.js';

/** Smallest page the kernel faults in: touching one byte of each is touching all of it. */
const PAGE_BYTES = 4096;
const RESERVE_SLACK_BYTES = 1024 * 1024;

export class StagingMemory {
  private readonly free: Uint8Array[] = [];
  private readonly lent = new Set<Uint8Array>();

  /** A region of `n` bytes; one allocation when `n` fits one WebAssembly.Memory (4 GiB). */
  take(n: number): Uint8Array {
    if (n > MAX_ALIGNED_BYTES) throw new HoldfastError('HF_INVALID_ARG', `staging region of ${n} bytes exceeds ${MAX_ALIGNED_BYTES}`);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const cap = this.free[i]!.buffer.byteLength;
      if (cap >= n && (best < 0 || cap < this.free[best]!.buffer.byteLength)) best = i;
    }
    const region = best >= 0 ? new Uint8Array(this.free.splice(best, 1)[0]!.buffer, 0, n) : allocAligned(n);
    this.lent.add(region);
    return region;
  }

  /**
   * `take(n)` for a snapshot within `budget` bytes: kept regions too small for `n` or larger than
   * the budget are forgotten first, so regions of other sizes do not pile up beside the one in use
   * and, once collected, staging holds no more than the budget.
   */
  takeWithin(n: number, budget: number): Uint8Array {
    const most = roundUp(budget, WASM_PAGE_BYTES);
    for (let i = this.free.length - 1; i >= 0; i--) {
      const cap = this.free[i]!.buffer.byteLength;
      if (cap < n || cap > most) this.free.splice(i, 1);
    }
    return this.take(n);
  }

  give(region: Uint8Array): void {
    if (!this.lent.delete(region)) return;
    this.free.push(region);
  }

  /**
   * Allocates and touches a region for a state of `n` tensor bytes now (plus 1 MiB for the
   * snapshot's per-file padding), so the first snapshot does not pay the page
   * faults inside the training pause (fresh memory faults in at ≈0.4–1.3 s per GiB on the dev VM,
   * touched memory copies at ≈15 GB/s). One write per 4 KiB page is enough to fault it in, and
   * avoids `fill`, which V8 runs at ≈3.6 GB/s on shared memory against 26 GB/s on plain memory.
   */
  reserve(n: number): void {
    // A snapshot pads each shard file's group of tensors to 4 KiB: leave room for 256 such groups,
    // so reserving the state's tensor bytes is enough for its snapshot to fit.
    const region = this.take(Math.min(n + RESERVE_SLACK_BYTES, MAX_ALIGNED_BYTES));
    for (let k = 0; k < region.byteLength; k += PAGE_BYTES) region[k] = 0;
    this.give(region);
  }

  /** Bytes held for reuse (not lent out). */
  get retainedBytes(): number {
    return this.free.reduce((n, r) => n + r.buffer.byteLength, 0);
  }

  /** Forgets the regions kept for reuse, so the garbage collector can return them. */
  trim(): void {
    this.free.length = 0;
  }
}
