/**
 * The planner: which tensor goes into which shard file, in which order.
 * Tensors are packed into files of about `shardSizeBytes` (a tensor is never
 * split across files), so many small tensors share one file and a checkpoint
 * is a few large sequential writes rather than one file per tensor (seed
 * 002: uncoalesced small files halve throughput).
 *
 * Order: widest element first (8-byte dtypes, then 4, 2, 1), stable within a
 * width. Data starts on a 4096-byte boundary and every tensor's length is a
 * multiple of its element size, so this order puts every tensor on an offset
 * aligned for its typed array, and restore can hand back views of the read
 * buffer instead of copies.
 */
import { assertValidTensor, elementBytes, tensorBytes, type Tensor } from '../format/dtype.js';
import { shardFileName } from '../format/names.js';

/**
 * Default target size of one shard file. Large enough that each file is a long
 * sequential write, small enough that a multi-GiB state becomes several files
 * that two writers (and two hashing workers) can share evenly.
 */
export const DEFAULT_SHARD_BYTES = 256 * 1024 * 1024;

export interface PlannedTensor {
  name: string;
  tensor: Tensor;
  bytes: Uint8Array;
}

export interface PlannedShard {
  fileName: string;
  rank: number;
  tensors: PlannedTensor[];
  dataBytes: number;
}

export function planShards(tensors: Record<string, Tensor>, shardSizeBytes: number, rank = 0): PlannedShard[] {
  const planned = Object.keys(tensors).map((name): PlannedTensor => {
    const tensor = tensors[name]!;
    assertValidTensor(name, tensor);
    return { name, tensor, bytes: tensorBytes(tensor) };
  });
  planned.sort((a, b) => elementBytes(b.tensor.dtype) - elementBytes(a.tensor.dtype));
  const shards: PlannedShard[] = [];
  let current: PlannedShard | undefined;
  for (const t of planned) {
    if (current === undefined || (current.dataBytes > 0 && current.dataBytes + t.bytes.byteLength > shardSizeBytes)) {
      current = { fileName: shardFileName(rank, shards.length), rank, tensors: [], dataBytes: 0 };
      shards.push(current);
    }
    current.tensors.push(t);
    current.dataBytes += t.bytes.byteLength;
  }
  return shards;
}
