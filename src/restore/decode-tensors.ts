/**
 * Turns verified shard bytes into tensors. Each tensor is a view into the
 * shard's buffer (no copy) unless its offset is misaligned for its element
 * type, which safetensors allows since tensors are packed without padding.
 * A tensor saved in several slabs (several ranks) is copied together.
 */
import { assertBoolBytes, typedArrayFor, type Tensor } from '../format/dtype.js';
import { HoldfastError } from '../errors.js';
import type { Manifest } from '../format/manifest-types.js';
import { defineEntry } from '../format/define-entry.js';
import { planReshard } from './plan-reshard.js';

export function decodeTensors(manifest: Manifest, bytesByFile: ReadonlyMap<string, Uint8Array>, checkpointDir: string): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  const loaded = (file: string): Uint8Array => {
    const bytes = bytesByFile.get(file);
    if (bytes === undefined) throw new HoldfastError('HF_NOT_FOUND', `${checkpointDir}: bytes of ${file} were not loaded`, { path: checkpointDir });
    return bytes;
  };
  for (const [name, t] of Object.entries(manifest.tensors)) {
    // One slab tiles the whole tensor (the manifest check guarantees it), box or flat: the full row-major bytes.
    const slab = t.slabs[0];
    const slabBytes = t.slabs.length === 1 ? loaded(slab!.file).subarray(slab!.byteRange[0], slab!.byteRange[1]) : assembleSlabs(manifest, name, loaded);
    // Verified bytes can still be a BOOL other than 0/1 if an older or foreign writer stored them.
    if (t.dtype === 'BOOL') assertBoolBytes(name, slabBytes, 'HF_FORMAT', checkpointDir);
    defineEntry(tensors, name, { dtype: t.dtype, shape: [...t.shape], data: typedArrayFor(t.dtype, slabBytes) });
  }
  return tensors;
}

/** A tensor saved in several slabs (by several ranks), put together from its files' verified bytes by the resharding planner. */
function assembleSlabs(manifest: Manifest, name: string, loaded: (file: string) => Uint8Array): Uint8Array {
  const t = manifest.tensors[name]!;
  const plan = planReshard(manifest, { [name]: { offset: t.shape.map(() => 0), shape: [...t.shape] } });
  const out = new Uint8Array(plan.parts[0]!.byteLength);
  for (const c of plan.copies) out.set(loaded(c.file).subarray(c.src, c.src + c.bytes), c.dst);
  return out;
}
