/**
 * The planner: which tensor goes into which shard file. Tensors are packed
 * in the caller's order into files of about `shardSizeBytes` (a tensor is
 * never split across files), so many small tensors share one file and a
 * checkpoint is a few large sequential writes rather than one file per
 * tensor (seed 002: uncoalesced small files halve throughput).
 */
import { assertValidTensor, tensorBytes, type Tensor } from '../format/dtype.js';
import { shardFileName } from '../format/names.js';

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
  const shards: PlannedShard[] = [];
  let current: PlannedShard | undefined;
  for (const name of Object.keys(tensors)) {
    const tensor = tensors[name]!;
    assertValidTensor(name, tensor);
    const bytes = tensorBytes(tensor);
    if (current === undefined || (current.dataBytes > 0 && current.dataBytes + bytes.byteLength > shardSizeBytes)) {
      current = { fileName: shardFileName(rank, shards.length), rank, tensors: [], dataBytes: 0 };
      shards.push(current);
    }
    current.tensors.push({ name, tensor, bytes });
    current.dataBytes += bytes.byteLength;
  }
  return shards;
}
