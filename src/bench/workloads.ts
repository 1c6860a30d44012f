/**
 * Benchmark workloads: the tensor shapes of a training state, without the
 * training. Contract: a workload is a list of (name, dtype, shape) whose byte
 * total is `bytes`; `materialize` fills it with deterministic pseudo-random
 * bytes (never zeros: no layer of the storage stack may compress or skip
 * them). An LLM state is mixed precision: BF16 model weights plus F32 master
 * weights and the two Adam moments per parameter (14 bytes a parameter).
 */
import { byteLengthOf, typedArrayFor, type DType, type Tensor } from '../format/dtype.js';
import { invalidArg } from '../errors.js';

interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface Workload {
  name: WorkloadName;
  description: string;
  tensors: TensorSpec[];
  bytes: number;
}

export const WORKLOAD_NAMES = ['gpt2-small', '1b', 'small'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

interface TransformerShape {
  vocab: number;
  context: number;
  model: number;
  ffn: number;
  layers: number;
}

const GPT2_SMALL: TransformerShape = { vocab: 50257, context: 1024, model: 768, ffn: 3072, layers: 12 };
/** ~1B-parameter decoder (d_model 2048, 16 layers, vocab 50304): ≈0.9 B parameters, ≈12.6 GB of state. */
const ONE_B: TransformerShape = { vocab: 50304, context: 2048, model: 2048, ffn: 8192, layers: 16 };
const BYTES_PER_PARAM = 2 + 4 + 4 + 4;

function transformerParams(s: TransformerShape): [string, number[]][] {
  const p: [string, number[]][] = [
    ['wte.weight', [s.vocab, s.model]],
    ['wpe.weight', [s.context, s.model]],
  ];
  for (let l = 0; l < s.layers; l++) {
    const h = `h.${l}.`;
    p.push(
      [`${h}ln_1.weight`, [s.model]],
      [`${h}ln_1.bias`, [s.model]],
      [`${h}attn.c_attn.weight`, [s.model, 3 * s.model]],
      [`${h}attn.c_attn.bias`, [3 * s.model]],
      [`${h}attn.c_proj.weight`, [s.model, s.model]],
      [`${h}attn.c_proj.bias`, [s.model]],
      [`${h}ln_2.weight`, [s.model]],
      [`${h}ln_2.bias`, [s.model]],
      [`${h}mlp.c_fc.weight`, [s.model, s.ffn]],
      [`${h}mlp.c_fc.bias`, [s.ffn]],
      [`${h}mlp.c_proj.weight`, [s.ffn, s.model]],
      [`${h}mlp.c_proj.bias`, [s.model]],
    );
  }
  p.push(['ln_f.weight', [s.model]], ['ln_f.bias', [s.model]]);
  return p;
}

function paramCount(s: TransformerShape): number {
  return transformerParams(s).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
}

/** Fewer layers (and, below one layer's worth, fewer vocabulary rows) until the state fits `maxBytes`. */
function scaleToFit(s: TransformerShape, maxBytes: number | undefined): TransformerShape {
  if (maxBytes === undefined) return s;
  let shape = { ...s };
  while (shape.layers > 1 && paramCount(shape) * BYTES_PER_PARAM > maxBytes) shape = { ...shape, layers: shape.layers - 1 };
  while (shape.vocab > 256 && paramCount(shape) * BYTES_PER_PARAM > maxBytes) shape = { ...shape, vocab: Math.floor(shape.vocab / 2) };
  while (shape.model > 64 && paramCount(shape) * BYTES_PER_PARAM > maxBytes) {
    shape = { ...shape, model: shape.model / 2, ffn: shape.ffn / 2, context: Math.max(64, shape.context / 2) };
  }
  return shape;
}

function trainingState(s: TransformerShape): TensorSpec[] {
  const specs: TensorSpec[] = [];
  for (const [name, shape] of transformerParams(s)) {
    specs.push(
      { name: `model.${name}`, dtype: 'BF16', shape },
      { name: `master.${name}`, dtype: 'F32', shape },
      { name: `optim.exp_avg.${name}`, dtype: 'F32', shape },
      { name: `optim.exp_avg_sq.${name}`, dtype: 'F32', shape },
    );
  }
  return specs;
}

function workloadOf(name: WorkloadName, description: string, tensors: TensorSpec[]): Workload {
  return { name, description, tensors, bytes: tensors.reduce((n, t) => n + byteLengthOf(t.dtype, t.shape), 0) };
}

/** `maxBytes` scales the LLM workloads down (by layers, then vocabulary rows); the small one ignores it. */
export function makeWorkload(name: WorkloadName, maxBytes?: number): Workload {
  switch (name) {
    case 'gpt2-small': {
      const s = scaleToFit(GPT2_SMALL, maxBytes);
      return workloadOf(name, `GPT-2-small-like (d ${s.model}, ${s.layers} layers, vocab ${s.vocab}) BF16 weights + F32 master + Adam m, v`, trainingState(s));
    }
    case '1b': {
      const s = scaleToFit(ONE_B, maxBytes);
      return workloadOf(name, `1B-like shapes (d ${s.model}, ffn ${s.ffn}, ${s.layers} of 16 layers, vocab ${s.vocab}) BF16 weights + F32 master + Adam m, v`, trainingState(s));
    }
    case 'small': {
      // A small model's checkpoint: 200 tensors of 128 B to 96 KiB, where latency, not bandwidth, counts.
      const tensors: TensorSpec[] = [];
      for (let i = 0; i < 200; i++) tensors.push({ name: `layer.${i}.weight`, dtype: i % 3 === 0 ? 'BF16' : 'F32', shape: [64 + ((i * 7919) % 24512)] });
      return workloadOf(name, '200 small tensors of a small model (latency-bound)', tensors);
    }
  }
}

export function parseWorkloadName(s: string): WorkloadName {
  if (!(WORKLOAD_NAMES as readonly string[]).includes(s)) throw invalidArg(`--workload must be one of ${WORKLOAD_NAMES.join(', ')}, all; got ${JSON.stringify(s)}`);
  return s as WorkloadName;
}

/** Deterministic non-zero bytes for every tensor (xorshift32 per 32-bit word). */
export function materialize(w: Workload, seed = 1): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  let x = (seed * 2654435761) >>> 0 || 1;
  for (const spec of w.tensors) {
    const n = byteLengthOf(spec.dtype, spec.shape);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    out[spec.name] = { dtype: spec.dtype, shape: spec.shape, data: typedArrayFor(spec.dtype, new Uint8Array(words.buffer, 0, n)) };
  }
  return out;
}
