/**
 * A `tf.io.IOHandler` backed by a Holdfast store, so tfjs users keep their
 * habits and gain crash-safe, verified saves:
 *
 *   await model.save(holdfast(store, step));            // commits checkpoint `step`
 *   const m = await tf.loadLayersModel(holdfast(store)); // newest checkpoint that verifies
 *
 * tfjs' own `file://` handler writes model.json and then weights.bin with
 * plain writes: no staging, no fsync, metadata before data. Through this
 * handler the same artifacts go through Holdfast's commit protocol, and every
 * byte is hash-checked on load, with rollback to an older checkpoint.
 *
 * Layout: each weight is its own tensor (`weights/<name>`, or
 * `optimizer/<name>` for the optimizer group), dtype and shape kept; the
 * topology, training config, metadata and the ordered weight specs are the
 * manifest's `state.framework.tfjs`. `load` also reads checkpoints written by
 * `saveTfjsCheckpoint` and by a tfjs `TrainState` loop.
 *
 * Contract: accepts `weightData` as one ArrayBuffer or a list of them (tfjs
 * 4.22's `WeightData`). Importing this file registers nothing; call
 * `registerHoldfastRouter()` to make `holdfast://<store dir>[?step=N]` URLs work.
 */
import * as tf from '@tensorflow/tfjs';
import { formatError, HoldfastError, invalidArg } from '../errors.js';
import { elementCount, tensorBytes, typedArrayFor, type DType, type Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import { openStore } from '../store/open-store.js';
import type { SaveOptions, Store } from '../store/types.js';
import { FRAMEWORK_KEY, OPTIMIZER_PREFIX, TRAIN_STATE_KEY, WEIGHTS_PREFIX, type JsonObject } from './train-state.js';

type WeightsManifestEntry = tf.io.WeightsManifestEntry;

interface HoldfastHandlerOptions {
  saveOptions?: SaveOptions;
}

const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };
const DTYPE_OF: Record<string, { dtype: DType; bytes: number }> = {
  float32: { dtype: 'F32', bytes: 4 },
  int32: { dtype: 'I32', bytes: 4 },
  bool: { dtype: 'BOOL', bytes: 1 },
};

/** How a weight spec travels: its Holdfast dtype/shape and byte length. Quantized weights go as raw bytes. */
function layoutOf(spec: WeightsManifestEntry): { dtype: DType; shape: number[]; byteLength: number } {
  const n = elementCount(spec.shape);
  if (spec.quantization !== undefined) {
    const size = QUANT_BYTES[spec.quantization.dtype];
    if (size === undefined) throw invalidArg(`weight ${spec.name}: unknown quantization dtype ${spec.quantization.dtype}`);
    return { dtype: 'U8', shape: [n * size], byteLength: n * size };
  }
  const d = DTYPE_OF[spec.dtype];
  if (d === undefined) throw invalidArg(`weight ${spec.name}: tfjs dtype ${spec.dtype} cannot be stored (float32, int32, bool and quantized weights can)`);
  return { dtype: d.dtype, shape: [...spec.shape], byteLength: n * d.bytes };
}

function tensorNameOf(spec: WeightsManifestEntry): string {
  return (spec.group === 'optimizer' ? OPTIMIZER_PREFIX : WEIGHTS_PREFIX) + spec.name;
}

type StoreSource = Store | (() => Promise<Store>);

function resolver(source: StoreSource): () => Promise<Store> {
  if (typeof source === 'function') {
    let opened: Promise<Store> | null = null;
    return () => (opened ??= source());
  }
  return () => Promise.resolve(source);
}

/**
 * An IOHandler for `store`. `save` commits checkpoint `step` (default: one
 * past the newest listed checkpoint); `load` restores `step` (default: the
 * newest that passes verification).
 */
export function holdfast(store: StoreSource, step?: number, options: HoldfastHandlerOptions = {}): tf.io.IOHandler {
  const getStore = resolver(store);
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const s = await getStore();
      const target = step ?? (await nextStep(s));
      const { tensors, tfjs } = artifactsToCheckpoint(artifacts);
      await s.save(target, { tensors, state: { [FRAMEWORK_KEY]: { tfjs } } }, options.saveOptions);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const r = await (await getStore()).restore(step);
      return checkpointToArtifacts(r.step, r.tensors, r.state);
    },
  };
}

/** The same factory under the name the public API list uses. */
export const holdfastIOHandler = holdfast;

async function nextStep(store: Store): Promise<number> {
  const list = await store.list();
  return list.length === 0 ? 0 : list[list.length - 1]!.step + 1;
}

const ARTIFACT_FIELDS = ['format', 'generatedBy', 'convertedBy', 'trainingConfig', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'signature'] as const;

function artifactsToCheckpoint(artifacts: tf.io.ModelArtifacts): { tensors: Record<string, Tensor>; tfjs: JsonObject } {
  if (artifacts.modelTopology instanceof ArrayBuffer) throw invalidArg('holdfast IOHandler: binary (GraphDef) topologies are not supported; save a LayersModel');
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const tensors: Record<string, Tensor> = {};
  const savedSpecs: JsonObject[] = [];
  let offset = 0;
  for (const spec of specs) {
    const { dtype, shape, byteLength } = layoutOf(spec);
    if (offset + byteLength > data.byteLength) throw invalidArg(`holdfast IOHandler: weight data ends before weight ${spec.name} (${data.byteLength} bytes)`);
    const name = tensorNameOf(spec);
    if (name in tensors) throw invalidArg(`holdfast IOHandler: two weights are named ${name}`);
    // One copy per weight: the tensor owns aligned bytes independent of tfjs' buffer.
    tensors[name] = { dtype, shape, data: typedArrayFor(dtype, new Uint8Array(data.slice(offset, offset + byteLength))) };
    savedSpecs.push({ ...(JSON.parse(JSON.stringify(spec)) as JsonObject), tensor: name });
    offset += byteLength;
  }
  if (offset !== data.byteLength) throw invalidArg(`holdfast IOHandler: weight specs cover ${offset} bytes, weight data has ${data.byteLength}`);
  const tfjs: JsonObject = { modelTopology: (artifacts.modelTopology ?? null) as JsonValue, weightSpecs: savedSpecs };
  for (const key of ARTIFACT_FIELDS) {
    if (artifacts[key] !== undefined) tfjs[key] = JSON.parse(JSON.stringify(artifacts[key])) as JsonValue;
  }
  return { tensors, tfjs };
}

function isObject(x: unknown): x is JsonObject {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Optimizer specs of a checkpoint written by `saveTfjsCheckpoint` or a TrainState loop (slot order, hidden state left out). */
function optimizerSpecs(root: JsonObject, tensors: Record<string, Tensor>): JsonObject[] {
  const train = root[TRAIN_STATE_KEY];
  const scalars = root['optimizer'] ?? (isObject(train) ? train['optimizer'] : undefined);
  if (!isObject(scalars) || !Array.isArray(scalars['slots'])) return [];
  return (scalars['slots'] as string[]).map((slot) => {
    const t = tensors[OPTIMIZER_PREFIX + slot];
    if (t === undefined) throw formatError(`optimizer slot ${slot} is listed but not stored`);
    return { name: slot, shape: t.shape, dtype: t.dtype === 'I32' ? 'int32' : 'float32', group: 'optimizer', tensor: OPTIMIZER_PREFIX + slot };
  });
}

function checkpointToArtifacts(step: number, tensors: Record<string, Tensor>, state: JsonValue): tf.io.ModelArtifacts {
  const root = isObject(state) ? state : {};
  const fw = root[FRAMEWORK_KEY];
  const tfjs = isObject(fw) ? fw['tfjs'] : undefined;
  if (!isObject(tfjs) || !Array.isArray(tfjs['weightSpecs']) || !isObject(tfjs['modelTopology'])) {
    throw new HoldfastError('HF_INCOMPATIBLE', `checkpoint ${step} holds no tfjs model (no state.framework.tfjs topology and weight specs)`);
  }
  let specs = tfjs['weightSpecs'] as JsonObject[];
  if (tfjs['trainingConfig'] !== undefined && !specs.some((s) => s['group'] === 'optimizer')) specs = specs.concat(optimizerSpecs(root, tensors));
  const parts: Uint8Array[] = [];
  const weightSpecs: WeightsManifestEntry[] = [];
  for (const saved of specs) {
    const { tensor: tensorName, ...rest } = saved;
    const spec = rest as unknown as WeightsManifestEntry;
    const t = typeof tensorName === 'string' ? tensors[tensorName] : undefined;
    if (t === undefined) throw formatError(`checkpoint ${step}: weight ${spec.name} names tensor ${JSON.stringify(tensorName)}, which it does not hold`);
    const { dtype, byteLength } = layoutOf(spec);
    const bytes = tensorBytes(t);
    if (t.dtype !== dtype || bytes.byteLength !== byteLength) {
      throw formatError(`checkpoint ${step}: weight ${spec.name} is ${t.dtype} ${bytes.byteLength} bytes, its spec says ${dtype} ${byteLength} bytes`);
    }
    parts.push(bytes);
    weightSpecs.push(spec);
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    weightData.set(p, at);
    at += p.byteLength;
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: tfjs['modelTopology'] as object,
    weightSpecs,
    weightData: weightData.buffer,
  };
  for (const key of ARTIFACT_FIELDS) {
    if (tfjs[key] !== undefined) (artifacts as Record<string, unknown>)[key] = tfjs[key];
  }
  return artifacts;
}

let routerRegistered = false;

/** Parses `holdfast://<dir>[?step=N]`; null for any other URL. */
export function parseHoldfastUrl(url: string): { root: string; step?: number } | null {
  const m = /^holdfast:\/\/(.+?)(?:\?step=(\d+))?$/.exec(url);
  if (m === null) return null;
  return m[2] === undefined ? { root: m[1]! } : { root: m[1]!, step: Number(m[2]) };
}

/**
 * Lets `model.save('holdfast:///path/to/store?step=7')` and
 * `tf.loadLayersModel('holdfast:///path/to/store')` find this handler.
 * Idempotent. The store is opened (created if missing) on first use.
 */
export function registerHoldfastRouter(): void {
  if (routerRegistered) return;
  routerRegistered = true;
  // tfjs types a router as always returning a handler, but its registry skips null answers
  // ("not my URL"), which is how every built-in router declines.
  const router = ((url: string | string[]): tf.io.IOHandler | null => {
    if (typeof url !== 'string') return null;
    const parsed = parseHoldfastUrl(url);
    if (parsed === null) return null;
    return holdfast(() => openStore(parsed.root), parsed.step);
  }) as (url: string | string[]) => tf.io.IOHandler;
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
}
