/** `holdfast/tfjs`: TensorFlow.js integration (loads `@tensorflow/tfjs`). */
export { initTfjsCpu } from './train/tfjs-env.js';
export {
  restoreTfjsCheckpoint,
  saveTfjsCheckpoint,
  tfjsCompatibilityDifferences,
  type RestoreTfjsOptions,
  type RestoredTfjsCheckpoint,
  type SaveTfjsOptions,
} from './train/tfjs-checkpoint.js';
export { holdfast, holdfastIOHandler, parseHoldfastUrl, registerHoldfastRouter } from './train/tfjs-io-handler.js';
