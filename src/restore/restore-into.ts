/**
 * Restore into the caller's own typed arrays. Contract: `planRestoreInto`
 * checks every destination against the checkpoint's tensors before a data
 * byte is read (the same names; each a typed array of the dtype's kind with
 * exactly the shape's element count) and otherwise throws HF_INCOMPATIBLE
 * listing every difference. The plan gives each shard a `deliver(position,
 * chunk)` that copies a chunk of the file into the destinations it overlaps
 * (chunks arrive in any order, copied as soon as they are read while their
 * hash runs on a worker), and `finish()` returns the tensors, whose `data` are
 * the caller's arrays.
 *
 * The copy lands before the file's hash is known: until the restore resolves
 * the destinations may hold bytes that later fail verification. A failed
 * restore therefore leaves them holding garbage (or an older checkpoint's
 * bytes after a rollback), never a verified state the caller could mistake.
 */
import { HoldfastError } from '../errors.js';
import { arrayTypeOf, assertBoolBytes, elementCount, tensorBytes, type Tensor, type TensorData } from '../format/dtype.js';
import type { Manifest } from '../format/manifest-types.js';
import { defineEntry } from '../format/define-entry.js';

/** Where the caller wants each tensor: name → a typed array it owns. */
type DestinationMap = Readonly<Record<string, TensorData>>;
/** The arrays, or a function that picks them for the checkpoint being read (called again for an older one after a rollback). */
export type RestoreDestinations = DestinationMap | ((manifest: Manifest) => DestinationMap);

interface Placement {
  /** The tensor's bytes in the file: [begin, end). */
  begin: number;
  end: number;
  dest: Uint8Array;
}

export interface RestoreIntoPlan {
  /** Copies file bytes at `position` into the destinations of `file`; undefined for a file that holds no tensor. */
  deliverFor(file: string): ((position: number, chunk: Uint8Array) => void) | undefined;
  /** The restored tensors (views of nothing new: the caller's arrays), once every file has verified. */
  finish(): Record<string, Tensor>;
}

/** @throws HF_INCOMPATIBLE listing every missing, extra, mis-typed or mis-sized destination. */
export function planRestoreInto(manifest: Manifest, destinations: RestoreDestinations, location: string): RestoreIntoPlan {
  const into = typeof destinations === 'function' ? destinations(manifest) : destinations;
  const differences = destinationDifferences(manifest, into);
  if (differences.length > 0) {
    throw new HoldfastError('HF_INCOMPATIBLE', `${location}: checkpoint ${manifest.step} does not fit the destinations given; ${differences.length} difference(s):\n  ${differences.join('\n  ')}`, {
      path: location,
      data: { step: manifest.step, differences },
    });
  }
  const byFile = new Map<string, Placement[]>();
  for (const [name, t] of Object.entries(manifest.tensors)) {
    if (t.slabs.length !== 1) {
      throw new HoldfastError('HF_FORMAT', `${location}: tensor "${name}" is saved in ${t.slabs.length} slabs; this build restores single-slab tensors only`, { path: location });
    }
    const slab = t.slabs[0]!;
    const list = byFile.get(slab.file) ?? [];
    list.push({ begin: slab.byteRange[0], end: slab.byteRange[1], dest: tensorBytes({ dtype: t.dtype, shape: t.shape, data: into[name]! }) });
    byFile.set(slab.file, list);
  }
  for (const list of byFile.values()) list.sort((a, b) => a.begin - b.begin);
  return {
    deliverFor: (file) => {
      const list = byFile.get(file);
      return list === undefined ? undefined : (position, chunk) => copyInto(list, position, chunk);
    },
    finish: () => {
      const tensors: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(manifest.tensors)) {
        const data = into[name]!;
        // Verified bytes can still be a BOOL other than 0/1 if an older or foreign writer stored them.
        if (t.dtype === 'BOOL') assertBoolBytes(name, data as Uint8Array, 'HF_FORMAT', location);
        defineEntry(tensors, name, { dtype: t.dtype, shape: [...t.shape], data });
      }
      return tensors;
    },
  };
}

function destinationDifferences(manifest: Manifest, into: DestinationMap): string[] {
  if (into === null || typeof into !== 'object' || Array.isArray(into)) return [`destinations must be an object of typed arrays by tensor name, got ${into === null ? 'null' : typeof into}`];
  const lines: string[] = [];
  const names = [...new Set([...Object.keys(manifest.tensors), ...Object.keys(into)])].sort();
  for (const name of names) {
    const t = Object.hasOwn(manifest.tensors, name) ? manifest.tensors[name] : undefined;
    const d: unknown = Object.hasOwn(into, name) ? into[name] : undefined;
    if (t === undefined) {
      lines.push(`${name}: a destination is given, the checkpoint holds no such tensor`);
      continue;
    }
    const want = `${arrayTypeOf(t.dtype)} of ${elementCount(t.shape)} elements (${t.dtype} [${t.shape.join(', ')}])`;
    if (d === undefined) lines.push(`${name}: the checkpoint holds ${t.dtype} [${t.shape.join(', ')}], no destination is given`);
    else if (!ArrayBuffer.isView(d) || d instanceof DataView) lines.push(`${name}: needs a ${want}, got ${describe(d)}`);
    else if (d.constructor.name !== arrayTypeOf(t.dtype) || (d as TensorData).length !== elementCount(t.shape)) {
      lines.push(`${name}: needs a ${want}, got a ${d.constructor.name} of ${(d as TensorData).length} elements`);
    }
  }
  return lines;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return `a ${(x as object).constructor?.name ?? 'object'}`;
  return typeof x;
}

/** Copies the part of `chunk` (file bytes from `position`) that falls inside each placement. */
function copyInto(list: readonly Placement[], position: number, chunk: Uint8Array): void {
  const end = position + chunk.byteLength;
  // First placement that ends after `position` (the list is sorted and its ranges do not overlap).
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.end <= position) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < list.length && list[i]!.begin < end; i++) {
    const p = list[i]!;
    const from = Math.max(p.begin, position);
    const to = Math.min(p.end, end);
    if (to > from) p.dest.set(chunk.subarray(from - position, to - position), from - p.begin);
  }
}
