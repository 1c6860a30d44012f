/**
 * How the sharded demo cuts its training state over the ranks: every tensor
 * of at least `SLICE_MIN_ELEMENTS` elements is split into `worldSize`
 * contiguous flat ranges of the row-major tensor (the FSDP layout), rank r
 * owning the r-th; smaller ones (biases, scalars) are replicated, written
 * once by the rank the store picks. The slices change with the world size,
 * so a job resumed on another number of ranks restores slabs cut for the
 * old one: the resharding the demo shows.
 */
import type { Tensor } from '../../format/dtype.js';
import type { GlobalSlab, RankSaveInput } from '../../store/rank-store.js';
import type { JsonValue } from '../../format/manifest-types.js';

export const SLICE_MIN_ELEMENTS = 1024;

/** The flat range [begin, end) rank `rank` of `worldSize` owns of `count` elements. */
export function sliceOf(count: number, rank: number, worldSize: number): [number, number] {
  return [Math.floor((count * rank) / worldSize), Math.floor((count * (rank + 1)) / worldSize)];
}

export function rankSaveInput(tensors: Record<string, Tensor>, state: JsonValue, rank: number, worldSize: number): RankSaveInput {
  const slabs: Record<string, GlobalSlab> = {};
  const replicated: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.data.length;
    if (count < SLICE_MIN_ELEMENTS) {
      replicated[name] = t;
      continue;
    }
    const [begin, end] = sliceOf(count, rank, worldSize);
    slabs[name] = { globalShape: [...t.shape], flat: [begin, end], tensor: { dtype: t.dtype, shape: [end - begin], data: t.data.subarray(begin, end) as Tensor['data'] } };
  }
  // The global state is taken from the leader; each rank keeps a note of its own slice.
  return { slabs, replicated, state, rankState: { rank, worldSize, pid: process.pid } };
}
