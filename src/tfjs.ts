/**
 * `holdfast/tfjs`: TensorFlow.js integration. `@tensorflow/tfjs` is an
 * optional peer dependency, so it is checked for first (`requireTfjs` throws
 * HF_INCOMPATIBLE naming `npm i @tensorflow/tfjs@4`) and only then are the
 * modules that import it statically loaded; static re-exports would make Node
 * fail at link time, before any check could run.
 */
import { requireTfjs } from './train/tfjs-peer.js';

await requireTfjs();

export const { initTfjsCpu } = await import('./train/tfjs-env.js');
export const { restoreTfjsCheckpoint, saveTfjsCheckpoint, tfjsCompatibilityDifferences } = await import('./train/tfjs-checkpoint.js');
export const { holdfast, holdfastIOHandler, parseHoldfastUrl, registerHoldfastRouter } = await import('./train/tfjs-io-handler.js');
export type { RestoreTfjsOptions, RestoredTfjsCheckpoint, SaveTfjsOptions } from './train/tfjs-checkpoint.js';
