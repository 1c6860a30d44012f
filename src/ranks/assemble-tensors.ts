/**
 * Whole global tensors from the verified bytes of a checkpoint whose tensors
 * are cut into slabs (a multi-rank save): each slab's bytes are copied into
 * place in a row-major buffer of the global shape, one run of the slab's
 * innermost dimension at a time (a flat range is one run). The manifest
 * check already proved the slabs tile each tensor exactly.
 */
import { HoldfastError } from '../errors.js';
import { assertBoolBytes, byteLengthOf, elementBytes, typedArrayFor, type Tensor } from '../format/dtype.js';
import { defineEntry } from '../format/define-entry.js';
import { isFlatSlab, type Manifest, type ManifestTensor, type TensorSlab } from '../format/manifest-types.js';

export function assembleTensors(manifest: Manifest, bytesByFile: ReadonlyMap<string, Uint8Array>, location: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(manifest.tensors)) {
    const global = new Uint8Array(byteLengthOf(t.dtype, t.shape));
    for (const slab of t.slabs) {
      const file = bytesByFile.get(slab.file);
      if (file === undefined) throw new HoldfastError('HF_NOT_FOUND', `${location}: bytes of ${slab.file} were not loaded`, { path: location });
      placeSlab(global, t, slab, file.subarray(slab.byteRange[0], slab.byteRange[1]));
    }
    if (t.dtype === 'BOOL') assertBoolBytes(name, global, 'HF_FORMAT', location);
    defineEntry(out, name, { dtype: t.dtype, shape: [...t.shape], data: typedArrayFor(t.dtype, global) });
  }
  return out;
}

function placeSlab(global: Uint8Array, t: ManifestTensor, slab: TensorSlab, bytes: Uint8Array): void {
  const eb = elementBytes(t.dtype);
  if (isFlatSlab(slab)) {
    global.set(bytes, slab.flat[0] * eb);
    return;
  }
  const dims = t.shape.length;
  if (dims === 0) {
    global.set(bytes, 0);
    return;
  }
  // Row-major strides of the global tensor, in elements.
  const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((n, x) => n * x, 1));
  const run = slab.shape[dims - 1]! * eb;
  const outer = slab.shape.slice(0, -1);
  const runs = outer.reduce((n, x) => n * x, 1);
  if (run === 0) return;
  const index = new Array<number>(dims - 1).fill(0);
  for (let r = 0; r < runs; r++) {
    let at = slab.offset[dims - 1]!;
    for (let d = 0; d < dims - 1; d++) at += (slab.offset[d]! + index[d]!) * strides[d]!;
    global.set(bytes.subarray(r * run, (r + 1) * run), at * eb);
    for (let d = dims - 2; d >= 0; d--) {
      if (++index[d]! < outer[d]!) break;
      index[d] = 0;
    }
  }
}
