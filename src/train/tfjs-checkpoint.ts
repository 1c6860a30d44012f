/**
 * TensorFlow.js models in Holdfast checkpoints: a `tf.LayersModel`'s weights
 * and its optimizer's state (`tfjs-optimizer-state.ts`) as Holdfast tensors,
 * and back, with a compatibility check that refuses a model whose variables
 * differ and names every difference; `saveTfjsCheckpoint` and
 * `restoreTfjsCheckpoint` do it through a store in one call.
 *
 * Layout (shared with `TrainState` and the `holdfast()` IOHandler):
 *   weights/<originalName>            one per model weight, tfjs dtype kept (float32→F32, int32→I32, bool→BOOL)
 *   optimizer/iter                    int32 scalar, tfjs' step counter
 *   optimizer/<originalName>/<slot>   e.g. optimizer/hidden/kernel/m (Adam first moment)
 *   optimizer/@<field>                optimizer state tfjs does not export (Adam's beta powers)
 *   state.framework.tfjs              topology, training config, weight specs
 *   state.optimizer (or holdfast.train.optimizer)  class, config, iterations, slot order
 *
 * Names use each variable's `originalName` ("hidden/kernel"), not its
 * process-unique name ("hidden/kernel_1"), so a checkpoint written by one
 * process restores in another whatever else that process had built first.
 *
 * Contract: `captureTfjsModel` returns copies (training may go on at once);
 * `applyTfjsModel` changes nothing unless the whole check passes.
 */
import * as tf from '@tensorflow/tfjs';
import { byteLengthOf, typedArrayFor, type Tensor, type TensorData } from '../format/dtype.js';
import type { JsonValue, Manifest } from '../format/manifest-types.js';
import type { SaveOptions, SaveResult, Store } from '../store/types.js';
import { diffTensorSpecs, refuseIfDifferent, type TensorSpec } from './tensor-compat.js';
import { applyOptimizerState, captureOptimizer, optimizerDifferences } from './tfjs-optimizer-state.js';
import { onCpuBackend, ownValues } from './tfjs-in-place.js';
import { fromTfTensor, tfSpecDType, toTfTensor } from './tfjs-tensors.js';
import {
  configHash,
  diffJson,
  FRAMEWORK_KEY,
  OPTIMIZER_PREFIX,
  TRAIN_STATE_KEY,
  WEIGHTS_PREFIX,
  type ConfigCheck,
  type JsonObject,
  type OptimizerSlot,
  type TensorMap,
} from './train-state.js';

const TFJS_FRAMEWORK_FORMAT = 'holdfast-tfjs-layers/1';

/** What a tfjs model (and optionally its optimizer) contributes to a checkpoint. */
interface TfjsModelState {
  weights: TensorMap;
  /** null when saved without an optimizer. */
  optimizer: OptimizerSlot | null;
  /** The `framework` state: `{ tfjs: { format, modelTopology, weightSpecs, … } }`. */
  framework: JsonObject;
}

interface TfjsOptimizerOption {
  /** The optimizer to save/restore. Default: `model.optimizer` (set by `compile`); null for none. */
  optimizer?: tf.Optimizer | null;
}

function optimizerOf(model: tf.LayersModel, options: TfjsOptimizerOption): tf.Optimizer | null {
  return options.optimizer === undefined ? (model.optimizer ?? null) : options.optimizer;
}

/**
 * Copies the model's weights and the optimizer's state into Holdfast tensors.
 * @throws HF_INVALID_ARG for an optimizer whose state cannot be restored (Adamax) or an unsupported dtype.
 */
export async function captureTfjsModel(model: tf.LayersModel, options: TfjsOptimizerOption = {}): Promise<TfjsModelState> {
  const weights: TensorMap = {};
  const weightSpecs: JsonObject[] = [];
  for (const w of model.weights) {
    weights[w.originalName] = fromTfTensor(w.read(), `weight ${w.originalName}`);
    weightSpecs.push({ name: w.originalName, shape: [...w.shape] as number[], dtype: w.dtype, tensor: WEIGHTS_PREFIX + w.originalName });
  }
  const opt = optimizerOf(model, options);
  const optimizer = opt === null ? null : await captureOptimizer(model, opt);
  const tfjs: JsonObject = {
    format: TFJS_FRAMEWORK_FORMAT,
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    modelTopology: model.toJSON(null, false) as JsonObject,
    weightSpecs,
  };
  const trainingConfig = trainingConfigOf(model);
  if (trainingConfig !== null) tfjs['trainingConfig'] = trainingConfig;
  return { weights, optimizer, framework: { tfjs } };
}

function trainingConfigOf(model: tf.LayersModel): JsonObject | null {
  if (model.optimizer == null) return null;
  try {
    // Protected in the typings but what `model.save({includeOptimizer})` writes; needed so
    // `tf.loadLayersModel(holdfast(store))` comes back compiled.
    const cfg = (model as unknown as { getTrainingConfig(): unknown }).getTrainingConfig();
    return JSON.parse(JSON.stringify(cfg)) as JsonObject;
  } catch {
    // A loss given as a function has no serializable name; the checkpoint is still complete without it.
    return null;
  }
}

interface ApplyTfjsOptions extends TfjsOptimizerOption {
  /** Load the weights only, leaving the optimizer alone (its state is then not the saved run's). */
  weightsOnly?: boolean;
  /** For messages. */
  step?: number;
}

/**
 * Every difference that stops `state` from being loaded into `model` (and its optimizer), one line each.
 */
export function tfjsCompatibilityDifferences(model: tf.LayersModel, state: TfjsModelState, options: ApplyTfjsOptions = {}): string[] {
  const expected: Record<string, TensorSpec> = {};
  for (const w of model.weights) expected[w.originalName] = { dtype: tfSpecDType(w.dtype), shape: w.shape as number[] };
  const saved: Record<string, TensorSpec> = {};
  for (const [name, t] of Object.entries(state.weights)) saved[name] = { dtype: t.dtype, shape: t.shape };
  const differences = diffTensorSpecs(expected, saved).map((d) => WEIGHTS_PREFIX + d);
  const opt = optimizerOf(model, options);
  if (opt === null || options.weightsOnly === true) return differences;
  if (state.optimizer === null) {
    differences.push('optimizer: the checkpoint holds no optimizer state (restore with weightsOnly to load the weights alone)');
    return differences;
  }
  return differences.concat(optimizerDifferences(model, opt, state.optimizer));
}

/**
 * Loads weights (and optimizer state) into `model`, all or nothing.
 * @throws HF_INCOMPATIBLE listing every difference when names, shapes, dtypes or the optimizer do not match.
 */
export async function applyTfjsModel(model: tf.LayersModel, state: TfjsModelState, options: ApplyTfjsOptions = {}): Promise<void> {
  refuseIfDifferent(tfjsCompatibilityDifferences(model, state, options), 'tfjs checkpoint', options.step);
  const values = model.weights.map((w) => toTfTensor(state.weights[w.originalName]!, `weight ${w.originalName}`));
  try {
    model.setWeights(values);
  } finally {
    tf.dispose(values);
  }
  await applyTfjsOptimizer(model, state, options);
}

async function applyTfjsOptimizer(model: tf.LayersModel, state: TfjsModelState, options: ApplyTfjsOptions): Promise<void> {
  const opt = optimizerOf(model, options);
  if (opt === null || options.weightsOnly === true || state.optimizer === null) return;
  await applyOptimizerState(model, opt, state.optimizer);
}

/** Splits restored store tensors by prefix into a `TfjsModelState`; `root` is the checkpoint's JSON state. */
function tfjsStateFromTensors(tensors: Record<string, Tensor>, root: JsonObject): TfjsModelState {
  const optimizerScalars = (root[OPTIMIZER_KEY] ?? (root[TRAIN_STATE_KEY] as JsonObject | undefined)?.[OPTIMIZER_KEY] ?? null) as JsonObject | null;
  const framework = (root[FRAMEWORK_KEY] ?? null) as JsonObject | null;
  const weights: TensorMap = {};
  const optTensors: TensorMap = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(WEIGHTS_PREFIX)) weights[name.slice(WEIGHTS_PREFIX.length)] = t;
    else if (name.startsWith(OPTIMIZER_PREFIX)) optTensors[name.slice(OPTIMIZER_PREFIX.length)] = t;
  }
  return {
    weights,
    optimizer: optimizerScalars === null ? null : { tensors: optTensors, scalars: optimizerScalars },
    framework: framework ?? {},
  };
}

/**
 * Where each tensor of the checkpoint about to be read goes: a model weight into its variable's own
 * values, anything else (optimizer state, applied afterwards) into a new array. Refuses a model
 * that does not fit, with every difference, before any data is read.
 */
function inPlaceDestinations(model: tf.LayersModel, manifest: Manifest, options: RestoreTfjsOptions, placed: { all: boolean }): Record<string, TensorData> {
  const alloc = (name: string, empty: boolean): TensorData => {
    const t = manifest.tensors[name]!;
    return typedArrayFor(t.dtype, new Uint8Array(empty ? 0 : byteLengthOf(t.dtype, t.shape)));
  };
  // Weights need only their dtype and shape for the check; their destinations are the variables.
  const specs: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(manifest.tensors)) specs[name] = { dtype: t.dtype, shape: [...t.shape], data: alloc(name, name.startsWith(WEIGHTS_PREFIX)) };
  refuseIfDifferent(tfjsCompatibilityDifferences(model, tfjsStateFromTensors(specs, (manifest.state ?? {}) as JsonObject), options), 'tfjs checkpoint', manifest.step);
  const into: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(specs)) into[name] = t.data;
  for (const w of model.weights) {
    const name = WEIGHTS_PREFIX + w.originalName;
    const own = ownValues(w.read() as tf.Variable);
    if (own === undefined) placed.all = false;
    into[name] = own ?? alloc(name, false);
  }
  return into;
}

const USER_KEY = 'user';
const OPTIMIZER_KEY = 'optimizer';
const CONFIG_KEY = 'config';

export interface SaveTfjsOptions extends TfjsOptimizerOption {
  /** Your own JSON state, saved beside (returned by `restoreTfjsCheckpoint`). */
  state?: JsonValue;
  /** The run's config; its hash goes into the manifest's provenance and is compared on restore. */
  config?: JsonObject;
  saveOptions?: SaveOptions;
}

/** Saves a model (and its optimizer) as checkpoint `step`. */
export async function saveTfjsCheckpoint(store: Store, step: number, model: tf.LayersModel, options: SaveTfjsOptions = {}): Promise<SaveResult> {
  const captured = await captureTfjsModel(model, options);
  const tensors: TensorMap = {};
  for (const [name, t] of Object.entries(captured.weights)) tensors[WEIGHTS_PREFIX + name] = t;
  const state: JsonObject = { [FRAMEWORK_KEY]: captured.framework, [USER_KEY]: options.state ?? null };
  if (captured.optimizer !== null) {
    for (const [name, t] of Object.entries(captured.optimizer.tensors)) tensors[OPTIMIZER_PREFIX + name] = t;
    state[OPTIMIZER_KEY] = captured.optimizer.scalars;
  }
  const saveOptions = { ...options.saveOptions };
  if (options.config !== undefined) {
    state[CONFIG_KEY] = options.config;
    saveOptions.configHash = configHash(options.config);
  }
  return store.save(step, { tensors, state }, saveOptions);
}

export interface RestoreTfjsOptions extends ApplyTfjsOptions {
  /** Default: the newest checkpoint that passes verification. */
  step?: number;
  /** This run's config: compared with the one saved (result `config`), never refused. */
  config?: JsonObject;
  /**
   * Read the weights straight into the model's own variables (CPU backend; elsewhere the ordinary
   * path is taken and `filledInPlace` is false). Checked against the model before any data is
   * read; but if verification then fails, the weights hold garbage (or, after a rollback, the
   * older checkpoint's), where the ordinary path leaves the model untouched.
   */
  inPlace?: boolean;
}

export interface RestoredTfjsCheckpoint {
  step: number;
  /** The `state` given to `saveTfjsCheckpoint` (null if none). */
  state: JsonValue;
  /** Newer checkpoints that failed verification and were quarantined on the way. */
  skipped: { step: number; reason: string }[];
  /** Present when `options.config` was given and the checkpoint holds a config. */
  config?: ConfigCheck;
  /** The weights were read into the model's variables without a copy (`inPlace` on the CPU backend). */
  filledInPlace: boolean;
}

/**
 * Restores checkpoint `step` (default newest valid) into `model` and its optimizer.
 * @throws HF_INCOMPATIBLE (differences listed), HF_NO_VALID_CHECKPOINT, HF_FORMAT.
 */
export async function restoreTfjsCheckpoint(
  store: Store,
  model: tf.LayersModel,
  options: RestoreTfjsOptions = {},
): Promise<RestoredTfjsCheckpoint> {
  const placed = { all: options.inPlace === true && onCpuBackend() };
  const into = placed.all ? (manifest: Manifest) => inPlaceDestinations(model, manifest, options, placed) : undefined;
  const r = await (into === undefined ? store.restore(options.step) : store.restore(options.step === undefined ? { into } : { step: options.step, into }));
  const root = (r.state ?? {}) as JsonObject;
  const state = tfjsStateFromTensors(r.tensors, root);
  // A weight whose values could not be reached was read into a new array: load them all the ordinary way.
  const filledInPlace = placed.all;
  if (filledInPlace) await applyTfjsOptimizer(model, state, options);
  else await applyTfjsModel(model, state, { ...options, step: r.step });
  const result: RestoredTfjsCheckpoint = { step: r.step, state: root[USER_KEY] ?? null, skipped: r.skipped, filledInPlace };
  const saved = root[CONFIG_KEY];
  if (options.config !== undefined && saved !== undefined && saved !== null) {
    const savedHash = configHash(saved);
    const currentHash = configHash(options.config);
    result.config = { matches: savedHash === currentHash, savedHash, currentHash, differences: diffJson(saved, options.config) };
  }
  return result;
}
