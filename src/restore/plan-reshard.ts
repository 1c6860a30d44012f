/**
 * The resharding planner (scale-out-anchors §7.7), pure: the caller's parts
 * intersected with the saved slabs → byte copies from shard files into the
 * parts' buffers → the ranges of each file to read, on its chunk grid.
 *
 * 1. Overlaps: slabs and parts are boxes (a flat range is split into the few
 *    boxes it is made of, see box-geometry.ts), paired by a sweep along
 *    dimension 0, not by trying every pair.
 * 2. Byte runs: for an intersection I of a stored box S and a target box T,
 *    let k be the smallest dimension such that every later one is whole in I,
 *    S and T alike; then Π_{d<k} I.shape[d] runs of Π_{d≥k} I.shape[d]
 *    elements are contiguous on both sides. Runs that continue each other on
 *    both sides (pieces of one flat range) are merged.
 * 3. Reads: per file, the copies' source ranges widened to the chunk grid and
 *    merged where they touch (or lie closer than `gapBytes`). The §7.7 merge
 *    of gaps below G ≈ 1 MiB needs no step of its own while chunks are at
 *    least G: two ranges that close share a chunk or touch once widened.
 *    Every range is widened by less than one chunk at each end, so a read
 *    costs at most two chunks more than the bytes it serves.
 * The plan assumes the layout was checked against the manifest
 * (`assertLayoutServable`).
 */
import { elementBytes, type DType } from '../format/dtype.js';
import { isFlatSlab, type Manifest, type ManifestFile, type ManifestTensor } from '../format/manifest-types.js';
import { flatRangePieces, intersectBoxes, overlappingPairs, rowMajorStrides, type PlacedBox } from './box-geometry.js';
import { widenToChunkGrid } from './chunk-grid.js';
import { isFlatPart, partShape, type RestoreLayout, type TensorPart } from './tensor-part.js';

export interface PlannedPart {
  name: string;
  dtype: DType;
  /** The part's own shape (a flat range is 1-D). */
  shape: number[];
  byteLength: number;
}

/** `bytes` bytes at absolute offset `src` of `file` go to byte `dst` of part `part`'s buffer. */
export interface PlannedCopy {
  file: string;
  src: number;
  part: number;
  dst: number;
  bytes: number;
}

/** Bytes [begin, end) of `file` to read: whole chunks, or the whole file when it has no chunk digests. */
export interface PlannedRead {
  file: string;
  begin: number;
  end: number;
}

export interface ReshardPlan {
  parts: PlannedPart[];
  /** Sorted by file, then source offset; source ranges never overlap. */
  copies: PlannedCopy[];
  /** Sorted by file, then offset; disjoint. */
  reads: PlannedRead[];
}

export interface PlanOptions {
  /** Merge two reads of one file whose gap is smaller than this (default 0: only touching reads). */
  gapBytes?: number;
}

export function planReshard(manifest: Pick<Manifest, 'files' | 'tensors'>, layout: RestoreLayout, options: PlanOptions = {}): ReshardPlan {
  const parts: PlannedPart[] = [];
  const copies: PlannedCopy[] = [];
  for (const name of Object.keys(layout)) {
    const t = manifest.tensors[name]!;
    const part = layout[name]!;
    const shape = partShape(part);
    parts.push({ name, dtype: t.dtype, shape, byteLength: shape.reduce((n, d) => n * d, 1) * elementBytes(t.dtype) });
    copies.push(...mergeContinuing(tensorCopies(t, part, parts.length - 1)));
  }
  copies.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.src - b.src));
  const files = new Map(manifest.files.map((f) => [f.path, f]));
  return { parts, copies, reads: planReads(copies, files, options.gapBytes ?? 0) };
}

interface StoredBox extends PlacedBox {
  file: string;
  /** Absolute offset of the slab's first byte in `file`. */
  base: number;
}

function storedBoxes(t: ManifestTensor): StoredBox[] {
  return t.slabs.flatMap((slab): StoredBox[] => {
    const at = { file: slab.file, base: slab.byteRange[0] };
    if (isFlatSlab(slab)) return flatRangePieces(t.shape, slab.flat[0], slab.flat[1]).map((p) => ({ ...p, ...at }));
    return [{ box: { offset: slab.offset, shape: slab.shape }, start: 0, ...at }];
  });
}

function targetBoxes(part: TensorPart, global: readonly number[]): PlacedBox[] {
  return isFlatPart(part) ? flatRangePieces(global, part.flat[0], part.flat[1]) : [{ box: { offset: part.offset, shape: part.shape }, start: 0 }];
}

function tensorCopies(t: ManifestTensor, part: TensorPart, partIndex: number): PlannedCopy[] {
  const stored = storedBoxes(t);
  const targets = targetBoxes(part, t.shape);
  const size = elementBytes(t.dtype);
  const out: PlannedCopy[] = [];
  const pairs = overlappingPairs(
    stored.map((s) => s.box),
    targets.map((p) => p.box),
  );
  for (const [si, ti] of pairs) {
    const s = stored[si]!;
    for (const run of elementRuns(s, targets[ti]!)) {
      out.push({ file: s.file, src: s.base + run.src * size, part: partIndex, dst: run.dst * size, bytes: run.elements * size });
    }
  }
  return out;
}

/** The contiguous runs (in elements) that copy the intersection of `s` and `t` from one's storage to the other's. */
export function elementRuns(s: PlacedBox, t: PlacedBox): { src: number; dst: number; elements: number }[] {
  const inter = intersectBoxes(s.box, t.box);
  if (inter === undefined) return [];
  const n = inter.shape.length;
  const sStrides = rowMajorStrides(s.box.shape);
  const tStrides = rowMajorStrides(t.box.shape);
  let k = Math.max(n - 1, 0);
  while (k > 0 && inter.shape[k] === s.box.shape[k] && inter.shape[k] === t.box.shape[k]) k--;
  let src = s.start;
  let dst = t.start;
  for (let d = 0; d < n; d++) {
    src += (inter.offset[d]! - s.box.offset[d]!) * sStrides[d]!;
    dst += (inter.offset[d]! - t.box.offset[d]!) * tStrides[d]!;
  }
  const elements = inter.shape.slice(k).reduce((m, d) => m * d, 1);
  const runs: { src: number; dst: number; elements: number }[] = [];
  // An odometer over the dimensions before k.
  const index = new Array<number>(k).fill(0);
  for (;;) {
    let srcAt = src;
    let dstAt = dst;
    for (let d = 0; d < k; d++) {
      srcAt += index[d]! * sStrides[d]!;
      dstAt += index[d]! * tStrides[d]!;
    }
    runs.push({ src: srcAt, dst: dstAt, elements });
    let d = k - 1;
    while (d >= 0 && ++index[d]! === inter.shape[d]) index[d--] = 0;
    if (d < 0) return runs;
  }
}

/** Copies of one part, merged where one continues another in both the file and the buffer. */
function mergeContinuing(copies: PlannedCopy[]): PlannedCopy[] {
  copies.sort((a, b) => a.dst - b.dst);
  const merged: PlannedCopy[] = [];
  for (const c of copies) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.file === c.file && last.src + last.bytes === c.src && last.dst + last.bytes === c.dst) last.bytes += c.bytes;
    else merged.push({ ...c });
  }
  return merged;
}

/** Per file, the copies' source ranges on the chunk grid, merged where they touch or lie closer than `gapBytes`. */
function planReads(copies: readonly PlannedCopy[], files: ReadonlyMap<string, ManifestFile>, gapBytes: number): PlannedRead[] {
  const reads: PlannedRead[] = [];
  for (const c of copies) {
    const [begin, end] = widenToChunkGrid(files.get(c.file)!, c.src, c.src + c.bytes);
    const last = reads[reads.length - 1];
    // Copies come sorted by file and offset, so only the last read can meet this one.
    if (last !== undefined && last.file === c.file && begin - last.end < Math.max(gapBytes, 1)) last.end = Math.max(last.end, end);
    else reads.push({ file: c.file, begin, end });
  }
  return reads;
}
