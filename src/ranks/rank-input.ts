/**
 * What one rank saves, and how it is cut into that rank's files. A rank
 * passes its own whole tensors, slabs of named global tensors (a box: offset
 * and shape in the global row-major tensor; or a flat element range), and
 * replicated tensors that every rank holds alike. A replicated tensor is
 * written once, by the rank `replicaOwner` names: by default a pure function
 * of the name and the world size that every rank computes alike, so the
 * writes spread over the ranks with no exchange. The k-th slab of each tensor
 * goes to this rank's file `r<rank>-p<k>-<writer>` (a shard header names each tensor
 * once). The bytes are copied here: once planned, the caller may change its
 * tensors.
 */
import { createHash } from 'node:crypto';
import { invalidArg } from '../errors.js';
import { assertValidTensor, elementCount, tensorBytes, type DType, type Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import { shardFileName } from '../format/names.js';
import { tensorNameProblem } from '../format/safetensors.js';

export type GlobalSlab =
  | { globalShape: number[]; offset: number[]; tensor: Tensor }
  | { globalShape: number[]; flat: [number, number]; tensor: Tensor };

export interface RankSaveInput {
  /** Whole tensors this rank alone holds (each name on one rank only). */
  tensors?: Record<string, Tensor>;
  /** Slabs of global tensors; the slabs of all ranks together must tile each one exactly. */
  slabs?: Record<string, GlobalSlab | GlobalSlab[]>;
  /** Whole tensors every rank holds alike: written once, by `replicaOwner(name)`. */
  replicated?: Record<string, Tensor>;
  /** The global JSON state, taken from the leader (rank 0) alone. */
  state?: JsonValue;
  /** This rank's own state that cannot be resharded (RNG stream, data position); restored as a list by rank. */
  rankState?: JsonValue;
}

export type SlabExtentOf = { offset: number[]; shape: number[] } | { flat: [number, number] };

export interface PlannedSlab {
  name: string;
  dtype: DType;
  globalShape: number[];
  extent: SlabExtentOf;
  /** The shape stored in the shard file (a flat range is 1-D). */
  storedShape: number[];
  bytes: Uint8Array;
}

export interface PlannedRankFile {
  fileName: string;
  slabs: PlannedSlab[];
}

/** The default writer of a replicated tensor: the same on every rank, spread by name. */
export function defaultReplicaOwner(name: string, worldSize: number): number {
  return Number.parseInt(createHash('sha256').update(name).digest('hex').slice(0, 8), 16) % worldSize;
}

/**
 * `writer` (a few random hex digits per save) makes the names of two processes that both claim
 * one rank differ: on an object store a second upload would otherwise replace the first's object
 * under a record that describes the first's bytes. Only the record that wins names its files.
 */
export function planRankFiles(input: RankSaveInput, rank: number, worldSize: number, replicaOwner: (name: string) => number, writer: string): PlannedRankFile[] {
  if (input === null || typeof input !== 'object') throw invalidArg('rank save input must be an object { tensors, slabs, replicated, state, rankState }');
  const byName = new Map<string, PlannedSlab[]>();
  const add = (name: string, slab: PlannedSlab): void => {
    const problem = tensorNameProblem(name);
    if (problem !== undefined) throw invalidArg(`tensor ${JSON.stringify(name)}: ${problem}`);
    byName.set(name, [...(byName.get(name) ?? []), slab]);
  };
  const once = (name: string): void => {
    if (byName.has(name)) throw invalidArg(`tensor ${JSON.stringify(name)} is given twice (tensors, slabs and replicated share one namespace)`);
  };
  for (const [name, t] of Object.entries(input.tensors ?? {})) {
    once(name);
    add(name, whole(name, t));
  }
  for (const [name, t] of Object.entries(input.replicated ?? {})) {
    once(name);
    const owner = replicaOwner(name);
    if (!Number.isSafeInteger(owner) || owner < 0 || owner >= worldSize) throw invalidArg(`replicaOwner(${JSON.stringify(name)}) returned ${owner}, expected a rank in [0, ${worldSize})`);
    if (owner === rank) add(name, whole(name, t));
  }
  for (const [name, given] of Object.entries(input.slabs ?? {})) {
    once(name);
    for (const s of Array.isArray(given) ? given : [given]) add(name, slabOf(name, s));
  }
  const files: PlannedRankFile[] = [];
  for (const slabs of byName.values()) {
    slabs.forEach((slab, k) => {
      files[k] ??= { fileName: shardFileName(rank, k).replace('.safetensors', `-${writer}.safetensors`), slabs: [] };
      files[k]!.slabs.push(slab);
    });
  }
  return files;
}

function whole(name: string, t: Tensor): PlannedSlab {
  assertValidTensor(name, t);
  return { name, dtype: t.dtype, globalShape: [...t.shape], extent: { offset: t.shape.map(() => 0), shape: [...t.shape] }, storedShape: [...t.shape], bytes: tensorBytes(t).slice() };
}

function slabOf(name: string, s: GlobalSlab): PlannedSlab {
  if (s === null || typeof s !== 'object' || !Array.isArray(s.globalShape)) throw invalidArg(`slab of ${JSON.stringify(name)} must be { globalShape, offset | flat, tensor }`);
  assertValidTensor(name, s.tensor);
  const g = s.globalShape;
  if (!g.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalidArg(`slab of ${JSON.stringify(name)}: globalShape must be non-negative integers, got ${JSON.stringify(g)}`);
  const bytes = tensorBytes(s.tensor).slice();
  if ('flat' in s) {
    const [b, e] = s.flat;
    const count = elementCount(s.tensor.shape);
    if (!Number.isSafeInteger(b) || !Number.isSafeInteger(e) || b < 0 || e < b || e > elementCount(g) || e - b !== count) {
      throw invalidArg(`flat slab of ${JSON.stringify(name)}: range [${b}, ${e}) must lie in the ${elementCount(g)} elements of [${g.join(', ')}] and match the tensor's ${count} elements`);
    }
    return { name, dtype: s.tensor.dtype, globalShape: [...g], extent: { flat: [b, e] }, storedShape: [count], bytes };
  }
  const { offset } = s;
  const shape = s.tensor.shape;
  const fits = Array.isArray(offset) && offset.length === g.length && shape.length === g.length && offset.every((o, d) => Number.isSafeInteger(o) && o >= 0 && o + shape[d]! <= g[d]!);
  if (!fits) throw invalidArg(`slab of ${JSON.stringify(name)}: offset ${JSON.stringify(offset)} + shape [${shape.join(', ')}] must lie inside the global shape [${g.join(', ')}]`);
  return { name, dtype: s.tensor.dtype, globalShape: [...g], extent: { offset: [...offset], shape: [...shape] }, storedShape: [...shape], bytes };
}
