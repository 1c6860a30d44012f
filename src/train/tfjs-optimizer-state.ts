/**
 * A tfjs optimizer's state as Holdfast tensors and back: `getWeights()` /
 * `setWeights()` (the `iter` step counter, Adam's first and second moments,
 * momentum accumulators, …) plus the state tfjs keeps but does not export.
 *
 * Naming: slots are stored under each variable's `originalName`
 * (`hidden/kernel/m`), not its process-unique name (`hidden/kernel_1/m`), so
 * a checkpoint restores in a process that built other models first. Order is
 * kept in `scalars.slots`: tfjs applies slot i to gradient i, by position.
 *
 * Why `@accBeta1`/`@accBeta2`: tfjs' Adam keeps beta1^t and beta2^t as
 * running float32 products, and its `setWeights` recomputes them as
 * `pow(beta, iterations + 1)`. The two differ in the last bits (measured:
 * 1.6865213720474066e-14 accumulated vs 1.686521541453996e-14 from pow after
 * 300 steps; already after 8 updates for beta 0.9, 2 for 0.999), so a resume
 * through `setWeights` alone leaves the trajectory. We save those two
 * variables and assign them after `setWeights`. Adamax is refused: tfjs 4.22
 * cannot `setWeights` it.
 */
import * as tf from '@tensorflow/tfjs';
import { HoldfastError, invalidArg } from '../errors.js';
import { diffTensorSpecs } from './tensor-compat.js';
import { fromTfTensor, tfSpecDType, toTfTensor } from './tfjs-tensors.js';
import { OPTIMIZER_PREFIX, type JsonObject, type OptimizerSlot, type TensorMap } from './train-state.js';

const ITER = 'iter';
const HIDDEN_PREFIX = '@';

/** Optimizer fields that hold state `getWeights` leaves out, by tfjs class name. */
const HIDDEN_STATE: Readonly<Record<string, readonly string[]>> = { Adam: ['accBeta1', 'accBeta2'] };
const UNSUPPORTED_OPTIMIZERS: Readonly<Record<string, string>> = {
  Adamax: 'tfjs 4.22 does not implement setWeights() for Adamax, so its state cannot be restored',
};

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
 * Copies the optimizer's state (names made process-independent with the model's variables).
 * @throws HF_INVALID_ARG for an optimizer whose state cannot be restored (Adamax).
 */
export async function captureOptimizer(model: tf.LayersModel, opt: tf.Optimizer): Promise<OptimizerSlot> {
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

/** Every difference between a saved optimizer state and the model's optimizer, one line each. */
export function optimizerDifferences(model: tf.LayersModel, opt: tf.Optimizer, saved: OptimizerSlot): string[] {
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

/** Loads a checked optimizer state into `opt` (call `optimizerDifferences` first). */
export async function applyOptimizerState(model: tf.LayersModel, opt: tf.Optimizer, saved: OptimizerSlot): Promise<void> {
  const { toUnique } = nameMaps(model);
  const slots = saved.scalars['slots'] as string[];
  const named = slots.map((slot) => ({
    name: slot === ITER ? ITER : renameSlot(slot, toUnique),
    tensor: toTfTensor(saved.tensors[slot]!, `optimizer slot ${slot}`),
  }));
  // setWeights replaces the slot variables without disposing the old ones; we do, once it succeeded.
  const previous = await opt.getWeights();
  try {
    await opt.setWeights(named);
    tf.dispose(previous.map((w) => w.tensor));
  } finally {
    // setWeights makes its own variables from these (sharing data, counted), as tfjs' loader expects us to dispose them.
    tf.dispose(named.map((n) => n.tensor));
  }
  for (const field of HIDDEN_STATE[className(opt)] ?? []) {
    const value = toTfTensor(saved.tensors[HIDDEN_PREFIX + field]!, `optimizer ${field}`);
    hiddenVariable(opt, field).assign(value);
    value.dispose();
  }
  const lr = (saved.scalars['config'] as JsonObject | undefined)?.['learningRate'];
  if (typeof lr === 'number') setOptimizerLearningRate(opt, lr);
}
