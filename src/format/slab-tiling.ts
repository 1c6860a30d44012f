/**
 * Whether a tensor's slabs tile its global shape exactly: every element owned
 * by exactly one slab. Given slabs already checked to lie inside the global
 * shape (same rank, offset + shape <= global per dimension), exact tiling is
 * equivalent to "no two slabs overlap as boxes" plus "their element counts
 * sum to the global count"; that is what this checks, returning the problem
 * as text (or undefined) so the manifest validator can attach file and field.
 * Overlaps are found with a sweep along dimension 0, so the usual layouts
 * (row- or column-sharded, one slab per rank) cost O(n log n), not O(n²).
 */

interface SlabBox {
  offset: readonly number[];
  shape: readonly number[];
}

function volume(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** [lo, hi) along dimension 0; a scalar is the single point [0, 1). */
function firstDim(s: SlabBox): [number, number] {
  return s.shape.length === 0 ? [0, 1] : [s.offset[0]!, s.offset[0]! + s.shape[0]!];
}

function intersects(a: SlabBox, b: SlabBox): boolean {
  return a.shape.every((_, d) => a.offset[d]! < b.offset[d]! + b.shape[d]! && b.offset[d]! < a.offset[d]! + a.shape[d]!);
}

/** Indices [i, j] of two overlapping slabs, or undefined. Empty slabs own nothing and never overlap. */
export function findOverlappingSlabs(slabs: readonly SlabBox[]): [number, number] | undefined {
  const order = slabs
    .map((_, i) => i)
    .filter((i) => volume(slabs[i]!.shape) > 0)
    .sort((i, j) => firstDim(slabs[i]!)[0] - firstDim(slabs[j]!)[0]);
  let active: number[] = [];
  for (const i of order) {
    const [lo] = firstDim(slabs[i]!);
    active = active.filter((j) => firstDim(slabs[j]!)[1] > lo);
    const hit = active.find((j) => intersects(slabs[i]!, slabs[j]!));
    if (hit !== undefined) return hit < i ? [hit, i] : [i, hit];
    active.push(i);
  }
  return undefined;
}

export function tilingProblem(globalShape: readonly number[], slabs: readonly SlabBox[]): string | undefined {
  const overlap = findOverlappingSlabs(slabs);
  if (overlap !== undefined) return `slabs[${overlap[0]}] and slabs[${overlap[1]}] overlap`;
  const total = volume(globalShape);
  // Each in-bounds slab is <= total, and without overlap their sum is too, so this stays safe.
  const covered = slabs.reduce((n, s) => n + volume(s.shape), 0);
  if (covered !== total) return `slabs cover ${covered} of ${total} elements (gaps in the global shape)`;
  return undefined;
}
