/**
 * Whether a tensor's slabs tile its global shape exactly: every element owned
 * by exactly one slab. Given slabs already checked to lie inside the global
 * shape (same rank, offset + shape <= global per dimension), exact tiling is
 * equivalent to "no two slabs overlap as boxes" plus "their element counts
 * sum to the global count"; that is what this checks, returning the problem
 * as text (or undefined) so the manifest validator can attach file and field.
 * Overlaps are found with a sweep along dimension 0, so the usual layouts
 * (row- or column-sharded, one slab per rank) cost O(n log n), not O(n²).
 * Flat slabs (element ranges of the row-major tensor, manifest 2.x) tile
 * when, sorted, each non-empty range starts where the previous one ended.
 */

interface SlabBox {
  offset: readonly number[];
  shape: readonly number[];
}

/** What a slab covers: a box, or the elements [begin, end) of the row-major tensor. */
export type SlabExtent = SlabBox | { flat: readonly [number, number] };

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

export function tilingProblem(globalShape: readonly number[], slabs: readonly SlabExtent[]): string | undefined {
  const boxes = slabs.filter((s): s is SlabBox => !('flat' in s));
  if (boxes.length < slabs.length) return flatTilingProblem(volume(globalShape), slabs as ReadonlyArray<{ flat: readonly [number, number] }>);
  const overlap = findOverlappingSlabs(boxes);
  if (overlap !== undefined) return `slabs[${overlap[0]}] and slabs[${overlap[1]}] overlap`;
  const total = volume(globalShape);
  // Each in-bounds slab is <= total, and without overlap their sum is too, so this stays safe.
  const covered = boxes.reduce((n, s) => n + volume(s.shape), 0);
  if (covered !== total) return `slabs cover ${covered} of ${total} elements (gaps in the global shape)`;
  return undefined;
}

function flatTilingProblem(total: number, slabs: ReadonlyArray<{ flat: readonly [number, number] }>): string | undefined {
  const order = slabs
    .map((s, i) => ({ i, begin: s.flat[0], end: s.flat[1] }))
    .filter((r) => r.end > r.begin)
    .sort((a, b) => a.begin - b.begin);
  let next = 0;
  for (let k = 0; k < order.length; k++) {
    const r = order[k]!;
    if (r.begin < next) return `slabs[${order[k - 1]!.i}] and slabs[${r.i}] overlap`;
    if (r.begin > next) return `elements [${next}, ${r.begin}) are in no slab (gaps in the global shape)`;
    next = r.end;
  }
  if (next !== total) return `slabs cover ${next} of ${total} elements (gaps in the global shape)`;
  return undefined;
}
