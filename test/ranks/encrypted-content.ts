/**
 * What the encrypted multi-rank tests save: the `torture ranks` content
 * (every slab layout) plus a flat U8 tensor `big` of which each rank holds
 * a little more than one 8 MiB record, so every rank file is sealed as
 * several records and a resharded part spans record and file boundaries.
 */
import type { Tensor } from '../../src/format/dtype.js';
import { DEFAULT_CHUNK_BYTES } from '../../src/format/manifest-types.js';
import type { RankSaveInput } from '../../src/store/rank-store.js';
import { globalContent, rankInput, type GlobalContent } from '../../src/torture/ranks-content.js';
import { bigTensor } from '../helpers/big-tensor.js';

/** Elements of `big` per saving rank: one record and a ragged tail. */
export const BIG_PER_RANK = DEFAULT_CHUNK_BYTES + 4099;

export function encryptedContent(seed: number, step: number, worldSize: number): GlobalContent {
  const content = globalContent(seed, step, worldSize);
  content.tensors['big'] = bigTensor(worldSize * BIG_PER_RANK, seed * 1000 + step);
  return content;
}

export function encryptedRankInput(content: GlobalContent, rank: number, worldSize: number): RankSaveInput {
  const input = rankInput(content, rank, worldSize);
  const big = content.tensors['big']!;
  const flat: [number, number] = [rank * BIG_PER_RANK, (rank + 1) * BIG_PER_RANK];
  const slab: Tensor = { dtype: 'U8', shape: [BIG_PER_RANK], data: big.data.subarray(flat[0], flat[1]) as Uint8Array };
  return { ...input, slabs: { ...input.slabs, big: { globalShape: big.shape, flat, tensor: slab } } };
}
