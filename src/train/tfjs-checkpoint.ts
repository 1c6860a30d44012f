/**
 * TensorFlow.js models in Holdfast checkpoints: a `tf.LayersModel`'s weights
 * and its optimizer's variables (`getWeights`/`setWeights`, including the
 * `iter` step counter and Adam's moments) as Holdfast tensors, and back, with
 * a compatibility check that refuses a model whose variables differ and names
 * every difference.
 *
 * Layout (shared with `TrainState` and the `holdfast()` IOHandler):
 *   weights/<originalName>         one per model weight, tfjs dtype kept (float32→F32, int32→I32, bool→BOOL)
 *   optimizer/iter                 int32 scalar, tfjs' step counter
 *   optimizer/<originalName>/<slot>  e.g. optimizer/hidden/kernel/m (Adam first moment)
 *   optimizer/@<field>             hidden optimizer state tfjs does not export (see below)
 *   state.framework.tfjs           topology, weight specs, optimizer class/config/slot order
 *
 * Names use each variable's `originalName` ("hidden/kernel"), not its
 * process-unique name ("hidden/kernel_1"), so a checkpoint written by one
 * process restores in another whatever else that process had built first.
 *
 * Why `@accBeta1`/`@accBeta2`: tfjs' Adam keeps beta1^t and beta2^t as
 * running float32 products, and its `setWeights` recomputes them as
 * `pow(beta, iterations + 1)`. The two differ in the last bits (measured:
 * 1.6865213720474066e-14 accumulated vs 1.686521541453996e-14 from pow after
 * 300 steps), so a resume through `setWeights` alone leaves the trajectory.
 * We save those two variables and assign them after `setWeights`.
 *
 * Contract: `captureTfjsModel` returns copies (training may go on at once);
 * `applyTfjsModel` changes nothing unless the whole check passes. Adamax is
 * refused because tfjs 4.22 cannot `setWeights` it.
 */
import * as tf from '@tensorflow/tfjs';
import { HoldfastError, invalidArg } from '../errors.js';
import type { DType, Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import type { SaveOptions, SaveResult, Store } from '../store/types.js';
import { diffTensorSpecs, refuseIfDifferent, type TensorSpec } from './tensor-compat.js';
import {
  FRAMEWORK_KEY,
  OPTIMIZER_PREFIX,
  WEIGHTS_PREFIX,
  type JsonObject,
  type OptimizerSlot,
  type TensorMap,
} from './train-state.js';

export const TFJS_FRAMEWORK_FORMAT = 'holdfast-tfjs-layers/1';
const ITER = 'iter';
const HIDDEN_PREFIX = '@';

/** Optimizer fields that hold state `getWeights` leaves out, by tfjs class name. */
const HIDDEN_STATE: Readonly<Record<string, readonly string[]>> = { Adam: ['accBeta1', 'accBeta2'] };
const UNSUPPORTED_OPTIMIZERS: Readonly<Record<string, string>> = {
  Adamax: 'tfjs 4.22 does not implement setWeights() for Adamax, so its state cannot be restored',
};

type TfDType = 'float32' | 'int32' | 'bool';

/** What a tfjs model (and optionally its optimizer) contributes to a checkpoint. */
export interface TfjsModelState {
  weights: TensorMap;
  /** null when saved without an optimizer. */
  optimizer: OptimizerSlot | null;
  /** The `framework` state: `{ tfjs: { format, modelTopology, weightSpecs, … } }`. */
  framework: JsonObject;
}

export interface TfjsOptimizerOption {
  /** The optimizer to save/restore. Default: `model.optimizer` (set by `compile`); null for none. */
  optimizer?: tf.Optimizer | null;
}

function optimizerOf(model: tf.LayersModel, options: TfjsOptimizerOption): tf.Optimizer | null {
  return options.optimizer === undefined ? (model.optimizer ?? null) : options.optimizer;
}

export function toHoldfastDType(dtype: string, what: string): DType {
  switch (dtype) {
    case 'float32': return 'F32';
    case 'int32': return 'I32';
    case 'bool': return 'BOOL';
    default: throw invalidArg(`${what}: tfjs dtype ${dtype} cannot be checkpointed (float32, int32 and bool can)`);
  }
}

export function toTfjsDType(dtype: DType): TfDType | undefined {
  return dtype === 'F32' ? 'float32' : dtype === 'I32' ? 'int32' : dtype === 'BOOL' ? 'bool' : undefined;
}

/** A Holdfast copy of a tfjs tensor's values (the CPU backend hands out its live buffer). */
export function fromTfTensor(t: tf.Tensor, what: string): Tensor {
  const dtype = toHoldfastDType(t.dtype, what);
  const data = t.dataSync().slice() as Float32Array | Int32Array | Uint8Array;
  return { dtype, shape: [...t.shape], data };
}

/** A new tfjs tensor holding a copy of a Holdfast tensor. */
export function toTfTensor(t: Tensor, what: string): tf.Tensor {
  const dtype = toTfjsDType(t.dtype);
  if (dtype === undefined) throw invalidArg(`${what}: Holdfast dtype ${t.dtype} has no tfjs counterpart`);
  return tf.tensor(t.data.slice() as Float32Array | Int32Array | Uint8Array, [...t.shape], dtype);
}

function className(opt: tf.Optimizer): string {
  return opt.getClassName();
}

/** Maps each variable's process-unique name to its stable `originalName`. */
function nameMaps(model: tf.LayersModel): { toOriginal: Map<string, string>; toUnique: Map<string, string> } {
  const toOriginal = new Map<string, string>();
  const toUnique = new Map<string, string>();
  for (const w of model.weights) {
    toOriginal.set(w.name, w.originalName);
    toUnique.set(w.originalName, w.name);
  }
  return { toOriginal, toUnique };
}

/** `hidden/kernel_1/m` → `hidden/kernel/m`, using the longest variable name that prefixes the slot name. */
function renameSlot(name: string, map: Map<string, string>): string {
  let best: string | undefined;
  for (const key of map.keys()) {
    if (name.startsWith(key + '/') && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? name : map.get(best)! + name.slice(best.length);
}

function hiddenVariable(opt: tf.Optimizer, field: string): tf.Variable {
  const v = (opt as unknown as Record<string, unknown>)[field];
  if (!(v instanceof tf.Variable)) {
    throw new HoldfastError('HF_INCOMPATIBLE', `tfjs ${className(opt)} has no variable "${field}"; this tfjs version's optimizer internals differ from 4.22, so bit-exact resume cannot be promised`);
  }
  return v;
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

async function captureOptimizer(model: tf.LayersModel, opt: tf.Optimizer): Promise<OptimizerSlot> {
  const cls = className(opt);
  if (cls in UNSUPPORTED_OPTIMIZERS) throw invalidArg(`optimizer ${cls}: ${UNSUPPORTED_OPTIMIZERS[cls]}`);
  const { toOriginal } = nameMaps(model);
  const tensors: TensorMap = {};
  const slots: string[] = [];
  const named = await opt.getWeights();
  for (const { name, tensor } of named) {
    const stable = name === ITER ? ITER : renameSlot(name, toOriginal);
    if (stable in tensors) throw invalidArg(`optimizer ${cls}: two slots map to the name "${stable}"`);
    tensors[stable] = fromTfTensor(tensor, `optimizer slot ${stable}`);
    slots.push(stable);
    // `getWeights` makes a fresh scalar for the step counter; the rest are the live variables.
    if (name === ITER) tensor.dispose();
  }
  const hidden = HIDDEN_STATE[cls] ?? [];
  for (const field of hidden) tensors[HIDDEN_PREFIX + field] = fromTfTensor(hiddenVariable(opt, field), `optimizer ${cls}.${field}`);
  const scalars: JsonObject = {
    className: cls,
    config: JSON.parse(JSON.stringify(opt.getConfig())) as JsonObject,
    iterations: opt.iterations,
    slots,
    hidden: [...hidden],
  };
  return { tensors, scalars };
}

export interface ApplyTfjsOptions extends TfjsOptimizerOption {
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

/** The Holdfast dtype name of a tfjs dtype, for comparison with saved specs (unknown ones pass through and will differ). */
function tfSpecDType(dtype: string): string {
  return ({ float32: 'F32', int32: 'I32', bool: 'BOOL' } as Record<string, string>)[dtype] ?? dtype;
}

function optimizerDifferences(model: tf.LayersModel, opt: tf.Optimizer, saved: OptimizerSlot): string[] {
  const out: string[] = [];
  const cls = className(opt);
  const savedCls = saved.scalars['className'];
  if (savedCls !== cls) return [`optimizer: checkpoint has ${JSON.stringify(savedCls)}, the model's optimizer is ${cls}`];
  if (cls in UNSUPPORTED_OPTIMIZERS) return [`optimizer ${cls}: ${UNSUPPORTED_OPTIMIZERS[cls]}`];
  const savedConfig = (saved.scalars['config'] ?? {}) as JsonObject;
  const liveConfig = opt.getConfig() as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(savedConfig), ...Object.keys(liveConfig)])].sort()) {
    // The learning rate is restored from the checkpoint (schedules move it); other hyper-parameters must agree.
    if (key === 'learningRate') continue;
    if (JSON.stringify(savedConfig[key]) !== JSON.stringify(liveConfig[key])) {
      out.push(`optimizer config ${key}: checkpoint ${JSON.stringify(savedConfig[key])}, model ${JSON.stringify(liveConfig[key])}`);
    }
  }
  const slots = saved.scalars['slots'];
  if (!Array.isArray(slots) || !slots.every((s) => typeof s === 'string')) return [...out, 'optimizer: slot list missing from the checkpoint'];
  if (slots[0] !== ITER) out.push(`optimizer: first slot is ${JSON.stringify(slots[0])}, expected "iter"`);
  const trainable = model.trainableWeights.map((w) => w.originalName);
  const byName = new Map(model.trainableWeights.map((w) => [w.originalName, w]));
  const order = new Map<string, string[]>();
  for (const slot of slots as string[]) {
    const t = saved.tensors[slot];
    if (t === undefined) {
      out.push(`optimizer/${slot}: listed but missing from the checkpoint`);
      continue;
    }
    if (slot === ITER) {
      if (t.dtype !== 'I32' || t.shape.length !== 0) out.push(`optimizer/iter: checkpoint has [${t.shape.join(', ')}] ${t.dtype}, expected an I32 scalar`);
      continue;
    }
    const cut = slot.lastIndexOf('/');
    const base = slot.slice(0, cut);
    const w = byName.get(base);
    if (w === undefined) {
      out.push(`optimizer/${slot}: belongs to variable ${base}, which is not a trainable weight of the model`);
      continue;
    }
    const diff = diffTensorSpecs({ [slot]: { dtype: tfSpecDType(w.dtype), shape: w.shape as number[] } }, { [slot]: t });
    out.push(...diff.map((d) => OPTIMIZER_PREFIX + d));
    const suffix = slot.slice(cut + 1);
    order.set(suffix, [...(order.get(suffix) ?? []), base]);
  }
  for (const [suffix, bases] of order) {
    // tfjs optimizers apply slot i to the i-th gradient, by position, never by name.
    if (bases.join('\n') !== trainable.join('\n')) {
      out.push(`optimizer slots /${suffix}: saved for [${bases.join(', ')}], the model trains [${trainable.join(', ')}] (order and names must match)`);
    }
  }
  for (const field of HIDDEN_STATE[cls] ?? []) {
    const t = saved.tensors[HIDDEN_PREFIX + field];
    if (t === undefined || t.dtype !== 'F32' || t.shape.length !== 0) out.push(`optimizer/${HIDDEN_PREFIX}${field}: ${cls} state missing from the checkpoint (needed for bit-exact resume)`);
  }
  return out;
}

/** Sets an optimizer's learning rate, whichever way its class stores it. */
export function setOptimizerLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate?: number };
  // SGD caches -lr in a kept scalar and must be told through its setter.
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
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
  const opt = optimizerOf(model, options);
  if (opt === null || options.weightsOnly === true || state.optimizer === null) return;
  const { toUnique } = nameMaps(model);
  const slots = state.optimizer.scalars['slots'] as string[];
  const named = slots.map((slot) => ({
    name: slot === ITER ? ITER : renameSlot(slot, toUnique),
    tensor: toTfTensor(state.optimizer!.tensors[slot]!, `optimizer slot ${slot}`),
  }));
  try {
    await opt.setWeights(named);
  } finally {
    // setWeights makes its own variables from these (sharing data, counted), as tfjs' loader expects us to dispose them.
    tf.dispose(named.map((n) => n.tensor));
  }
  for (const field of HIDDEN_STATE[className(opt)] ?? []) {
    const saved = toTfTensor(state.optimizer.tensors[HIDDEN_PREFIX + field]!, `optimizer ${field}`);
    hiddenVariable(opt, field).assign(saved);
    saved.dispose();
  }
  const lr = (state.optimizer.scalars['config'] as JsonObject | undefined)?.['learningRate'];
  if (typeof lr === 'number') setOptimizerLearningRate(opt, lr);
}

/** Splits restored store tensors by prefix into a `TfjsModelState`. */
export function tfjsStateFromTensors(tensors: Record<string, Tensor>, optimizerScalars: JsonObject | null, framework: JsonObject | null): TfjsModelState {
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

const USER_KEY = 'user';
const OPTIMIZER_KEY = 'optimizer';

export interface SaveTfjsOptions extends TfjsOptimizerOption {
  /** Your own JSON state, saved beside (returned by `restoreTfjsCheckpoint`). */
  state?: JsonValue;
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
  return store.save(step, { tensors, state }, options.saveOptions);
}

export interface RestoreTfjsOptions extends ApplyTfjsOptions {
  /** Default: the newest checkpoint that passes verification. */
  step?: number;
}

/**
 * Restores checkpoint `step` (default newest valid) into `model` and its optimizer.
 * @throws HF_INCOMPATIBLE (differences listed), HF_NO_VALID_CHECKPOINT, HF_FORMAT.
 */
export async function restoreTfjsCheckpoint(
  store: Store,
  model: tf.LayersModel,
  options: RestoreTfjsOptions = {},
): Promise<{ step: number; state: JsonValue; skipped: { step: number; reason: string }[] }> {
  const r = await store.restore(options.step);
  const root = (r.state ?? {}) as JsonObject;
  const scalars = (root[OPTIMIZER_KEY] ?? (root['holdfast.train'] as JsonObject | undefined)?.[OPTIMIZER_KEY] ?? null) as JsonObject | null;
  const framework = (root[FRAMEWORK_KEY] ?? null) as JsonObject | null;
  const state = tfjsStateFromTensors(r.tensors, scalars, framework);
  await applyTfjsModel(model, state, { ...options, step: r.step });
  return { step: r.step, state: root[USER_KEY] ?? null, skipped: r.skipped };
}
