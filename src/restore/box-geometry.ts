/**
 * Boxes of a row-major tensor, the geometry the resharding planner works in.
 * A flat element range [b, e) is turned into at most 2·rank − 1 boxes, each
 * contiguous in row-major order (a partial row, whole blocks, a partial row),
 * so a flat slab or a flat part is handled as boxes whose bytes are stored
 * row-major in their own shape: every case is then box against box.
 */

/** A box of a row-major tensor: where it starts and its shape (a 0-d tensor is the box `[]`, `[]`). */
export interface Box {
  readonly offset: readonly number[];
  readonly shape: readonly number[];
}

export function volume(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Elements between consecutive indices of each dimension, row-major. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Row-major element index of `index` in a tensor of `shape`. */
export function linearIndex(shape: readonly number[], index: readonly number[]): number {
  const strides = rowMajorStrides(shape);
  return index.reduce((n, i, d) => n + i * strides[d]!, 0);
}

/** The boxes whose union is elements [begin, end) of a row-major tensor of `shape`, in order; each is contiguous in row-major order. */
export function flatRangeToBoxes(shape: readonly number[], begin: number, end: number): Box[] {
  const boxes: Box[] = [];
  if (end <= begin) return boxes;
  if (shape.length === 0) return [{ offset: [], shape: [] }];
  splitRange(shape, 0, [], begin, end, boxes);
  return boxes;
}

/** Elements [begin, end) of the sub-tensor `shape[d..]` at `prefix` (indices of dims < d). */
function splitRange(shape: readonly number[], d: number, prefix: number[], begin: number, end: number, out: Box[]): void {
  if (end <= begin) return;
  const inner = volume(shape.slice(d + 1));
  const box = (from: number, to: number): Box => ({
    offset: [...prefix, from, ...shape.slice(d + 1).map(() => 0)],
    shape: [...prefix.map(() => 1), to - from, ...shape.slice(d + 1)],
  });
  if (begin % inner === 0 && end % inner === 0) {
    out.push(box(begin / inner, end / inner));
    return;
  }
  const firstRow = Math.floor(begin / inner);
  const lastRow = Math.floor((end - 1) / inner);
  if (firstRow === lastRow) {
    splitRange(shape, d + 1, [...prefix, firstRow], begin - firstRow * inner, end - firstRow * inner, out);
    return;
  }
  const headEnd = Math.ceil(begin / inner);
  const tailStart = Math.floor(end / inner);
  if (begin % inner !== 0) splitRange(shape, d + 1, [...prefix, firstRow], begin - firstRow * inner, inner, out);
  if (tailStart > headEnd) out.push(box(headEnd, tailStart));
  if (end % inner !== 0) splitRange(shape, d + 1, [...prefix, tailStart], 0, end - tailStart * inner, out);
}

/** The common box of `a` and `b`, or undefined when they share no element. */
export function intersectBoxes(a: Box, b: Box): Box | undefined {
  const offset: number[] = [];
  const shape: number[] = [];
  for (let d = 0; d < a.shape.length; d++) {
    const lo = Math.max(a.offset[d]!, b.offset[d]!);
    const hi = Math.min(a.offset[d]! + a.shape[d]!, b.offset[d]! + b.shape[d]!);
    if (hi <= lo) return undefined;
    offset.push(lo);
    shape.push(hi - lo);
  }
  return { offset, shape };
}

/** [lo, hi) along dimension 0; a scalar is the single point [0, 1). */
function firstDim(s: Box): [number, number] {
  return s.shape.length === 0 ? [0, 1] : [s.offset[0]!, s.offset[0]! + s.shape[0]!];
}

/**
 * Every pair [i, j] of a box of `a` and a box of `b` that share an element, found with a sweep
 * along dimension 0: sorted by where they start there, each box is checked only against the
 * boxes of the other side still open at that point, so row-sharded layouts cost O(n log n).
 */
export function overlappingPairs(a: readonly Box[], b: readonly Box[]): [number, number][] {
  type Item = { side: 0 | 1; i: number; lo: number; hi: number };
  const items: Item[] = [];
  const add = (side: 0 | 1, boxes: readonly Box[]): void => {
    boxes.forEach((box, i) => {
      if (volume(box.shape) === 0) return;
      const [lo, hi] = firstDim(box);
      items.push({ side, i, lo, hi });
    });
  };
  add(0, a);
  add(1, b);
  items.sort((x, y) => x.lo - y.lo || x.side - y.side);
  const open: [Item[], Item[]] = [[], []];
  const pairs: [number, number][] = [];
  for (const item of items) {
    const other = 1 - item.side;
    open[other] = open[other]!.filter((o) => o.hi > item.lo);
    for (const o of open[other]!) {
      const [ai, bi] = item.side === 0 ? [item.i, o.i] : [o.i, item.i];
      if (intersectBoxes(a[ai]!, b[bi]!) !== undefined) pairs.push([ai, bi]);
    }
    open[item.side]!.push(item);
  }
  return pairs;
}

/** A box whose elements are stored row-major in its own shape, from element `start` of some buffer or slab. */
export interface PlacedBox {
  box: Box;
  start: number;
}

/** Elements [begin, end) stored contiguously from element 0: the boxes of the range, each placed where its first element is. */
export function flatRangePieces(shape: readonly number[], begin: number, end: number): PlacedBox[] {
  return flatRangeToBoxes(shape, begin, end).map((box) => ({ box, start: linearIndex(shape, box.offset) - begin }));
}
