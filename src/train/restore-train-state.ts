/**
 * Resuming in place: a run that already holds its `TrainState` (weights and
 * optimizer tensors allocated at start-up) has the checkpoint read straight
 * into those arrays (`Store.restore({ into })`) instead of into new ones.
 *
 * Contract: the target's weights and optimizer tensors must be exactly the
 * checkpoint's (HF_INCOMPATIBLE lists every difference, before any data is
 * read). Gradient accumulators go into the target's arrays where it has them;
 * ones the checkpoint holds (saved mid-accumulation) and the target lacks are
 * allocated, and target accumulators the checkpoint lacks are left alone. The
 * result's state holds the target's arrays, filled and verified; when the
 * restore fails they hold garbage (see `RestoreOptions.into`).
 */
import { byteLengthOf, typedArrayFor, type TensorData } from '../format/dtype.js';
import type { Manifest } from '../format/manifest-types.js';
import type { Store } from '../store/types.js';
import {
  GRAD_ACCUM_PREFIX,
  OPTIMIZER_PREFIX,
  trainStateFromRestore,
  WEIGHTS_PREFIX,
  type FromRestoreOptions,
  type RestoredTrainState,
  type TrainState,
} from './train-state.js';

export interface RestoreTrainStateOptions extends FromRestoreOptions {
  /** Default: the newest checkpoint that passes verification. */
  step?: number;
}

/** Restores checkpoint `step` (default newest valid) into the arrays of `target`. */
export async function restoreTrainStateInto(store: Store, target: TrainState, options: RestoreTrainStateOptions = {}): Promise<RestoredTrainState> {
  const into = (manifest: Manifest): Record<string, TensorData> => {
    const d: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(target.weights)) d[WEIGHTS_PREFIX + name] = t.data;
    for (const [name, t] of Object.entries(target.optimizer.tensors)) d[OPTIMIZER_PREFIX + name] = t.data;
    for (const [name, t] of Object.entries(manifest.tensors)) {
      if (!name.startsWith(GRAD_ACCUM_PREFIX)) continue;
      const mine = target.gradAccum.tensors[name.slice(GRAD_ACCUM_PREFIX.length)]?.data;
      d[name] = mine ?? typedArrayFor(t.dtype, new Uint8Array(byteLengthOf(t.dtype, t.shape)));
    }
    return d;
  };
  const { step, ...fromRestore } = options;
  const restored = await store.restore(step === undefined ? { into } : { step, into });
  return trainStateFromRestore(restored, fromRestore);
}
