/**
 * The whole training state (DESIGN §1.3): everything needed to take the next
 * step as if nothing had happened, in typed slots, and its conversion to and
 * from what the store saves: tensors as tensors, the rest as manifest `state`.
 *
 * Store layout of a `TrainState` (one checkpoint):
 *   tensors  weights/<name>     model parameters
 *            optimizer/<name>   optimizer tensors (Adam moments, step counters kept as tensors, …)
 *            gradAccum/<name>   gradients accumulated since the last update (only mid-accumulation)
 *   state    { "holdfast.train": { version, step, optimizer scalars, gradAccum counters,
 *              rng, data, lrSchedule, lossScaler, config, configHash, lastBatch },
 *              "framework": … }   (opaque framework metadata, e.g. a tfjs model topology)
 *
 * Contract: `trainStateToSaveInput` returns views of the state's tensors (no
 * copy); call `snapshotTrainState` first if training continues while the
 * save runs. `trainStateFromRestore` validates every slot and refuses a
 * checkpoint it cannot read (HF_FORMAT); a changed run config is reported in
 * the result (and refused only when asked), because continuing with an
 * edited config is sometimes intended.
 */
import { createHash } from 'node:crypto';
import { formatError, HoldfastError } from '../errors.js';
import { canonicalJson } from '../format/canonical-json.js';
import { defineEntry } from '../format/define-entry.js';
import { assertValidTensor, type Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import { validateDataPosition, type DataPosition } from './data-position.js';
import { validateLossScaler, type LossScalerState } from './loss-scaler.js';
import { validateLrSchedule, type LrScheduleState } from './lr-schedule.js';
import { validatePrngState, type PrngState } from './prng.js';

export const TRAIN_STATE_KEY = 'holdfast.train';
export const FRAMEWORK_KEY = 'framework';
const TRAIN_STATE_VERSION = 1;
export const WEIGHTS_PREFIX = 'weights/';
export const OPTIMIZER_PREFIX = 'optimizer/';
export const GRAD_ACCUM_PREFIX = 'gradAccum/';

export type TensorMap = Record<string, Tensor>;
export type JsonObject = { [key: string]: JsonValue };

export interface OptimizerSlot {
  tensors: TensorMap;
  /** JSON scalars: step counter, hyper-parameters, class name, slot order, … */
  scalars: JsonObject;
}

interface GradAccumSlot {
  /** Micro-batches per optimizer update. */
  accumSteps: number;
  /** Micro-batches accumulated since the last update, in [0, accumSteps). */
  microStep: number;
  /** The accumulated (scaled) gradients; empty when `microStep` is 0. */
  tensors: TensorMap;
}

/** The last batch seen before the checkpoint, for the post-resume loss check. */
export interface LastBatchRecord {
  /** Step (micro-batch number, 1-based) that consumed the batch. */
  step: number;
  /** Data position just before the batch: replaying it rebuilds the batch. */
  position: DataPosition;
  size: number;
  /** Loss of that (clean) batch under the checkpoint's weights, computed at save time. */
  loss: number;
}

export interface TrainState {
  /** Micro-batches completed; the checkpoint's step number. */
  step: number;
  weights: TensorMap;
  optimizer: OptimizerSlot;
  gradAccum: GradAccumSlot;
  /** Named generator states (data augmentation, dropout, …). */
  rng: Record<string, PrngState>;
  data: DataPosition;
  lrSchedule: LrScheduleState;
  lossScaler: LossScalerState;
  /** The run's configuration, as given; its hash is checked on resume. */
  config: JsonObject;
  lastBatch: LastBatchRecord | null;
  /** Framework metadata stored beside (e.g. a tfjs model topology); opaque here. */
  framework: JsonObject | null;
}

/** `sha256:<hex>` of the canonical JSON of a config: key order and whitespace do not matter. */
export function configHash(config: JsonValue): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(config)).digest('hex');
}

/** A copy of a tensor whose bytes are its own. */
function copyTensor(t: Tensor): Tensor {
  return { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() };
}

function copyTensorMap(m: TensorMap): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(m)) out[name] = copyTensor(t);
  return out;
}

/** A deep copy: every tensor's bytes and every JSON slot. Training may mutate the original afterwards. */
export function snapshotTrainState(ts: TrainState): TrainState {
  return {
    step: ts.step,
    weights: copyTensorMap(ts.weights),
    optimizer: { tensors: copyTensorMap(ts.optimizer.tensors), scalars: structuredClone(ts.optimizer.scalars) },
    gradAccum: { accumSteps: ts.gradAccum.accumSteps, microStep: ts.gradAccum.microStep, tensors: copyTensorMap(ts.gradAccum.tensors) },
    rng: structuredClone(ts.rng),
    data: { ...ts.data },
    lrSchedule: { ...ts.lrSchedule },
    lossScaler: { ...ts.lossScaler },
    config: structuredClone(ts.config),
    lastBatch: structuredClone(ts.lastBatch),
    framework: structuredClone(ts.framework),
  };
}

/** What `Store.save` takes. The tensors are views of the state's (no copy). */
export function trainStateToSaveInput(ts: TrainState): { tensors: TensorMap; state: JsonObject } {
  const tensors: TensorMap = {};
  const put = (prefix: string, m: TensorMap): void => {
    for (const [name, t] of Object.entries(m)) {
      assertValidTensor(prefix + name, t);
      tensors[prefix + name] = t;
    }
  };
  put(WEIGHTS_PREFIX, ts.weights);
  put(OPTIMIZER_PREFIX, ts.optimizer.tensors);
  put(GRAD_ACCUM_PREFIX, ts.gradAccum.tensors);
  const train: JsonObject = {
    version: TRAIN_STATE_VERSION,
    step: ts.step,
    optimizer: ts.optimizer.scalars,
    gradAccum: { accumSteps: ts.gradAccum.accumSteps, microStep: ts.gradAccum.microStep },
    rng: ts.rng as unknown as JsonObject,
    data: { ...ts.data },
    lrSchedule: { ...ts.lrSchedule },
    lossScaler: { ...ts.lossScaler },
    config: ts.config,
    configHash: configHash(ts.config),
    lastBatch: ts.lastBatch === null ? null : { ...ts.lastBatch, position: { ...ts.lastBatch.position } },
  };
  // Validate what we are about to write with the same code that reads it back.
  validateTrainJson(train, ts.step);
  const state: JsonObject = { [TRAIN_STATE_KEY]: train };
  if (ts.framework !== null) state[FRAMEWORK_KEY] = ts.framework;
  return { tensors, state };
}

export interface ConfigCheck {
  matches: boolean;
  savedHash: string;
  currentHash: string;
  /** JSON paths whose values differ, e.g. `$.batchSize: 32 → 64`. */
  differences: string[];
}

export interface RestoredTrainState {
  state: TrainState;
  /** Present when the caller passed its current config. */
  config?: ConfigCheck;
}

export interface FromRestoreOptions {
  /** The config the resuming run was started with; compared with the saved one. */
  config?: JsonObject;
  /** Throw HF_INCOMPATIBLE on a config difference instead of reporting it. Default false. */
  refuseConfigChange?: boolean;
}

/**
 * Rebuilds a `TrainState` from what `Store.restore` returned.
 * @throws HF_FORMAT when a slot is missing or malformed; HF_INCOMPATIBLE on a config change when refused.
 */
export function trainStateFromRestore(
  restored: { step: number; tensors: Record<string, Tensor>; state: JsonValue },
  options: FromRestoreOptions = {},
): RestoredTrainState {
  const root = restored.state;
  if (root === null || typeof root !== 'object' || Array.isArray(root) || !(TRAIN_STATE_KEY in root)) {
    throw formatError(`checkpoint ${restored.step} holds no "${TRAIN_STATE_KEY}" state: it was not saved from a TrainState`);
  }
  const train = validateTrainJson(root[TRAIN_STATE_KEY], restored.step);
  const weights: TensorMap = {};
  const optimizerTensors: TensorMap = {};
  const accumTensors: TensorMap = {};
  for (const [name, t] of Object.entries(restored.tensors)) {
    if (name.startsWith(WEIGHTS_PREFIX)) defineEntry(weights, name.slice(WEIGHTS_PREFIX.length), t);
    else if (name.startsWith(OPTIMIZER_PREFIX)) defineEntry(optimizerTensors, name.slice(OPTIMIZER_PREFIX.length), t);
    else if (name.startsWith(GRAD_ACCUM_PREFIX)) defineEntry(accumTensors, name.slice(GRAD_ACCUM_PREFIX.length), t);
    else throw formatError(`checkpoint ${restored.step}: tensor "${name}" belongs to no TrainState slot`);
  }
  const ga = train.gradAccum;
  if (ga.microStep > 0 && Object.keys(accumTensors).length === 0 && Object.keys(weights).length > 0) {
    throw formatError(`checkpoint ${restored.step}: saved mid-accumulation (micro-step ${ga.microStep}) but holds no accumulated gradients`);
  }
  const framework = FRAMEWORK_KEY in root ? (root[FRAMEWORK_KEY] as JsonObject) : null;
  const state: TrainState = {
    step: train.step,
    weights,
    optimizer: { tensors: optimizerTensors, scalars: train.optimizer },
    gradAccum: { accumSteps: ga.accumSteps, microStep: ga.microStep, tensors: accumTensors },
    rng: train.rng,
    data: train.data,
    lrSchedule: train.lrSchedule,
    lossScaler: train.lossScaler,
    config: train.config,
    lastBatch: train.lastBatch,
    framework,
  };
  if (options.config === undefined) return { state };
  const check: ConfigCheck = {
    savedHash: train.configHash,
    currentHash: configHash(options.config),
    matches: false,
    differences: diffJson(train.config, options.config),
  };
  check.matches = check.savedHash === check.currentHash;
  if (!check.matches && options.refuseConfigChange === true) {
    throw new HoldfastError(
      'HF_INCOMPATIBLE',
      `checkpoint ${restored.step} was saved with config ${check.savedHash}, this run has ${check.currentHash}:\n  ${check.differences.join('\n  ')}`,
      { data: { ...check } },
    );
  }
  return { state, config: check };
}

interface TrainJson {
  step: number;
  optimizer: JsonObject;
  gradAccum: { accumSteps: number; microStep: number };
  rng: Record<string, PrngState>;
  data: DataPosition;
  lrSchedule: LrScheduleState;
  lossScaler: LossScalerState;
  config: JsonObject;
  configHash: string;
  lastBatch: LastBatchRecord | null;
}

function isObject(x: unknown): x is JsonObject {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function validateTrainJson(x: unknown, step: number): TrainJson {
  const where = `checkpoint ${step} train state`;
  if (!isObject(x)) throw formatError(`${where} must be an object`);
  if (x['version'] !== TRAIN_STATE_VERSION) throw formatError(`${where}: version ${JSON.stringify(x['version'])} is not ${TRAIN_STATE_VERSION}; this build cannot read it`);
  if (x['step'] !== step) throw formatError(`${where}: step ${JSON.stringify(x['step'])} disagrees with the checkpoint's step ${step}`);
  if (!isObject(x['optimizer'])) throw formatError(`${where}: optimizer must be an object`);
  const ga = x['gradAccum'];
  if (!isObject(ga) || !Number.isSafeInteger(ga['accumSteps']) || (ga['accumSteps'] as number) < 1 || !Number.isSafeInteger(ga['microStep'])) {
    throw formatError(`${where}: gradAccum must hold integer accumSteps ≥ 1 and microStep`);
  }
  const accumSteps = ga['accumSteps'] as number;
  const microStep = ga['microStep'] as number;
  if (microStep < 0 || microStep >= accumSteps) throw formatError(`${where}: gradAccum.microStep ${microStep} is outside [0, ${accumSteps})`);
  const rngJson = x['rng'];
  if (!isObject(rngJson)) throw formatError(`${where}: rng must be an object of generator states`);
  const rng: Record<string, PrngState> = {};
  for (const [name, s] of Object.entries(rngJson)) rng[name] = validatePrngState(s);
  if (!isObject(x['config'])) throw formatError(`${where}: config must be an object`);
  const config = x['config'];
  if (x['configHash'] !== configHash(config)) throw formatError(`${where}: configHash does not match the saved config`);
  return {
    step,
    optimizer: x['optimizer'],
    gradAccum: { accumSteps, microStep },
    rng,
    data: validateDataPosition(x['data'], `${where}: data`),
    lrSchedule: validateLrSchedule(x['lrSchedule']),
    lossScaler: validateLossScaler(x['lossScaler']),
    config,
    configHash: x['configHash'] as string,
    lastBatch: validateLastBatch(x['lastBatch'], where),
  };
}

function validateLastBatch(x: unknown, where: string): LastBatchRecord | null {
  if (x === null || x === undefined) return null;
  if (!isObject(x)) throw formatError(`${where}: lastBatch must be an object or null`);
  const { step, size, loss } = x;
  if (!Number.isSafeInteger(step) || !Number.isSafeInteger(size) || (size as number) < 1 || typeof loss !== 'number') {
    throw formatError(`${where}: lastBatch needs integer step, positive size and a numeric loss`);
  }
  return { step: step as number, size: size as number, loss, position: validateDataPosition(x['position'], `${where}: lastBatch.position`) };
}

/** Paths where two JSON values differ, `$.a.b: old → new`, sorted. */
export function diffJson(saved: JsonValue, current: JsonValue, path = '$'): string[] {
  if (isObject(saved) && isObject(current)) {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])].sort();
    return keys.flatMap((k) => {
      if (!(k in current)) return [`${path}.${k}: ${JSON.stringify(saved[k])} → (absent)`];
      if (!(k in saved)) return [`${path}.${k}: (absent) → ${JSON.stringify(current[k])}`];
      return diffJson(saved[k]!, current[k]!, `${path}.${k}`);
    });
  }
  return canonicalJson(saved) === canonicalJson(current) ? [] : [`${path}: ${JSON.stringify(saved)} → ${JSON.stringify(current)}`];
}

/**
 * `sha256:<hex>` over tensors in name order: each name, dtype, shape and raw
 * bytes, length-delimited. Equal digests mean bit-identical tensors.
 */
export function tensorMapSha256(tensors: TensorMap): string {
  const h = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    const header = JSON.stringify([name, t.dtype, t.shape]);
    h.update(`${header.length}:${header}`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return 'sha256:' + h.digest('hex');
}

/** Digest of the whole state: every tensor of every slot plus the JSON state (what resume must reproduce). */
export function trainStateSha256(ts: TrainState): string {
  const { tensors, state } = trainStateToSaveInput(ts);
  return 'sha256:' + createHash('sha256').update(tensorMapSha256(tensors)).update(canonicalJson(state)).digest('hex');
}
