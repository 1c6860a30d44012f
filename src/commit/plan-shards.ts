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
 *
 * The planner refuses, before anything is written, every tensor a reader
 * would refuse (`assertValidTensor`, reserved names); `assertPlanWithinLimits`
 * does the same for the whole checkpoint once the step and state are known.
 */
import { invalidArg } from '../errors.js';
import { assertValidTensor, elementBytes, tensorBytes, type Tensor } from '../format/dtype.js';
import type { ManifestEncryption, Provenance } from '../format/manifest-types.js';
import { shardFileName } from '../format/names.js';
import { tensorNameProblem, type ShardEntry } from '../format/safetensors.js';
import { assertSaveWithinLimits } from '../format/save-limits.js';

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
    const problem = tensorNameProblem(name);
    if (problem !== undefined) throw invalidArg(`tensor ${JSON.stringify(name)}: ${problem}`);
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

/** The safetensors entries of `shard`, in file order. */
export function shardEntries(shard: PlannedShard): ShardEntry[] {
  return shard.tensors.map((t) => ({ name: t.name, dtype: t.tensor.dtype, shape: t.tensor.shape, byteLength: t.bytes.byteLength }));
}

export interface PlannedCheckpoint {
  step: number;
  shards: readonly PlannedShard[];
  /** Opaque files (`commitFiles`): name inside the checkpoint and size in bytes. */
  files: readonly { name: string; sizeBytes: number }[];
  state: unknown;
  provenance: Provenance;
  /** The save's `encryption` (its files are drafted at their stored sizes, with `encrypted`). */
  encryption?: ManifestEncryption | undefined;
  incremental?: boolean | undefined;
}

/**
 * HF_INVALID_ARG, naming the limit, when a reader would refuse the checkpoint this save writes
 * (manifest over its cap, a shard header over its cap, state too deep or not exactly JSON, a bad
 * or clashing file name). Call before the first byte is written.
 */
export function assertPlanWithinLimits(plan: PlannedCheckpoint): void {
  assertSaveWithinLimits({
    step: plan.step,
    shards: plan.shards.map((s) => ({ fileName: s.fileName, rank: s.rank, entries: shardEntries(s) })),
    files: plan.files,
    state: plan.state,
    provenance: plan.provenance,
    encryption: plan.encryption,
    incremental: plan.incremental,
  });
}
