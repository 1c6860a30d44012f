/**
 * Turns verified shard bytes into tensors. Each tensor is a view into the
 * shard's buffer (no copy) unless its offset is misaligned for its element
 * type, which safetensors allows since tensors are packed without padding.
 */
import { assertBoolBytes, typedArrayFor, type Tensor } from '../format/dtype.js';
import { HoldfastError } from '../errors.js';
import type { Manifest } from '../format/manifest-types.js';
import { defineEntry } from '../format/define-entry.js';

export function decodeTensors(manifest: Manifest, bytesByFile: ReadonlyMap<string, Uint8Array>, checkpointDir: string): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(manifest.tensors)) {
    if (t.slabs.length !== 1) {
      throw new HoldfastError('HF_FORMAT', `${checkpointDir}: tensor "${name}" is saved in ${t.slabs.length} slabs; this build restores single-slab tensors only`, { path: checkpointDir });
    }
    // One slab tiles the whole tensor (the manifest check guarantees it), box or flat: the full row-major bytes.
    const slab = t.slabs[0]!;
    const bytes = bytesByFile.get(slab.file);
    if (bytes === undefined) throw new HoldfastError('HF_NOT_FOUND', `${checkpointDir}: bytes of ${slab.file} were not loaded`, { path: checkpointDir });
    const slabBytes = bytes.subarray(slab.byteRange[0], slab.byteRange[1]);
    // Verified bytes can still be a BOOL other than 0/1 if an older or foreign writer stored them.
    if (t.dtype === 'BOOL') assertBoolBytes(name, slabBytes, 'HF_FORMAT', checkpointDir);
    defineEntry(tensors, name, { dtype: t.dtype, shape: [...t.shape], data: typedArrayFor(t.dtype, slabBytes) });
  }
  return tensors;
}
