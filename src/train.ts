/** `holdfast/train`: the framework-free training-state layer. Imports no ML framework. */
export { Prng, validatePrngState, type PrngState } from './train/prng.js';
export { ShuffledSampler, epochOrder, validateDataPosition, type DataPosition } from './train/data-position.js';
export {
  configHash,
  snapshotTrainState,
  trainStateFromRestore,
  trainStateSha256,
  trainStateToSaveInput,
  type ConfigCheck,
  type RestoredTrainState,
  type TrainState,
} from './train/train-state.js';
export { restoreTrainStateInto, type RestoreTrainStateOptions } from './train/restore-train-state.js';
export { Checkpointer, checkpoint, type CheckpointHandle } from './train/checkpoint.js';
export { assertResumeLoss, checkResumeLoss, type ResumeCheck } from './train/post-resume-check.js';
export { diffTensorSpecs, refuseIfDifferent } from './train/tensor-compat.js';
