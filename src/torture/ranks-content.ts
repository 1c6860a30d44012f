/**
 * What the ranks of a multi-rank trial save: global tensors derived from a
 * seed (so any process rebuilds them), cut per rank into every layout the
 * protocol supports: row-sharded boxes, column-sharded boxes (runs that are
 * not contiguous), flat element ranges, replicated tensors (a 0-d and an
 * empty one among them) and one tensor owned by each rank alone.
 */
import type { Tensor } from '../format/dtype.js';
import type { RankSaveInput } from '../index.js';
import { SeededRandom } from '../fs/seeded-random.js';

export interface GlobalContent {
  tensors: Record<string, Tensor>;
  state: { step: number; seed: number };
}

function bytes(random: SeededRandom, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = random.nextUint32() & 0xff;
  return out;
}

/** Every tensor whole, as a single process would hold them. */
export function globalContent(seed: number, step: number, worldSize: number): GlobalContent {
  const random = new SeededRandom(seed, step);
  const f32 = (shape: number[]): Tensor => ({ dtype: 'F32', shape, data: new Float32Array(bytes(random, 4 * shape.reduce((n, d) => n * d, 1)).buffer).map((x) => (Number.isFinite(x) ? x : 0)) });
  const tensors: Record<string, Tensor> = {
    rows: f32([2 * worldSize + 1, 5]),
    cols: { dtype: 'BF16', shape: [3, 2 * worldSize], data: new Uint16Array(bytes(random, 2 * 3 * 2 * worldSize).buffer) },
    flat: { dtype: 'I32', shape: [3 * worldSize + 2], data: new Int32Array(bytes(random, 4 * (3 * worldSize + 2)).buffer) },
    emb: { dtype: 'F64', shape: [3, 4], data: new Float64Array(12).map((_, i) => i + seed + step) },
    scalar: f32([]),
    empty: f32([0, 3]),
  };
  for (let r = 0; r < worldSize; r++) tensors[`own.r${r}`] = { dtype: 'U8', shape: [r + 1], data: bytes(random, r + 1) };
  return { tensors, state: { step, seed } };
}

function rowsOf(t: Tensor, begin: number, end: number): Tensor {
  const row = t.shape.slice(1).reduce((n, d) => n * d, 1);
  return { dtype: t.dtype, shape: [end - begin, ...t.shape.slice(1)], data: t.data.slice(begin * row, end * row) as Tensor['data'] };
}

/** Rank `rank`'s input: its slabs of the global tensors, the replicated ones, its own, its rank state. */
export function rankInput(content: GlobalContent, rank: number, worldSize: number): RankSaveInput {
  const t = content.tensors;
  const rows = t['rows']!;
  // Rows: rank r owns [2r, 2r + 2), the last rank the odd row too.
  const rowEnd = rank === worldSize - 1 ? rows.shape[0]! : 2 * rank + 2;
  const cols = t['cols']!;
  const colData = new Uint16Array(3 * 2);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) colData[i * 2 + j] = (cols.data as Uint16Array)[i * cols.shape[1]! + 2 * rank + j]!;
  const flat = t['flat']!;
  const flatEnd = rank === worldSize - 1 ? flat.shape[0]! : 3 * rank + 3;
  return {
    slabs: {
      rows: { globalShape: rows.shape, offset: [2 * rank, 0], tensor: rowsOf(rows, 2 * rank, rowEnd) },
      cols: { globalShape: cols.shape, offset: [0, 2 * rank], tensor: { dtype: 'BF16', shape: [3, 2], data: colData } },
      flat: { globalShape: flat.shape, flat: [3 * rank, flatEnd], tensor: { dtype: 'I32', shape: [flatEnd - 3 * rank], data: flat.data.slice(3 * rank, flatEnd) as Int32Array } },
    },
    replicated: { emb: t['emb']!, scalar: t['scalar']!, empty: t['empty']! },
    tensors: { [`own.r${rank}`]: t[`own.r${rank}`]! },
    state: content.state,
    rankState: { rank, rng: [content.state.seed, rank] },
  };
}

/** The first tensor whose name, dtype, shape or bytes differ, or undefined when all match. */
export function firstDifference(actual: Record<string, Tensor>, expected: Record<string, Tensor>): string | undefined {
  const names = Object.keys(expected).sort();
  if (Object.keys(actual).sort().join() !== names.join()) return `tensor names ${Object.keys(actual).sort().join(',')} vs ${names.join(',')}`;
  for (const name of names) {
    const [a, e] = [actual[name]!, expected[name]!];
    const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (a.dtype !== e.dtype || a.shape.join() !== e.shape.join() || !bytes(a).equals(bytes(e))) return `tensor ${name}`;
  }
  return undefined;
}
