/**
 * Dynamic loss scaling, as mixed-precision training uses it: the loss is
 * multiplied by `scale` before the backward pass so small gradients survive a
 * narrow float format; the gradients are divided by it again before the
 * update. A step whose gradients are not finite is skipped and the scale
 * halves; after `growthInterval` good steps in a row it doubles.
 *
 * Why it is training state: the scale and the good-step counter decide which
 * future steps are skipped. A resume that reset them would skip (or not skip)
 * different steps than the uninterrupted run and leave its trajectory.
 *
 * Contract: scales are powers of two, so scaling and unscaling are exact in
 * binary floating point (barring overflow, which is what the skip handles).
 */
import { formatError } from '../errors.js';

export interface LossScalerState {
  scale: number;
  growthInterval: number;
  /** Finite steps since the last change of scale. */
  goodSteps: number;
  /** Steps skipped for non-finite gradients, over the whole run. */
  skippedSteps: number;
  maxScale: number;
}

export function initialLossScaler(options: { scale: number; growthInterval: number; maxScale: number }): LossScalerState {
  return validateLossScaler({ ...options, goodSteps: 0, skippedSteps: 0 });
}

/** The state after one optimizer step whose gradients were (or were not) all finite. */
export function updateLossScaler(s: LossScalerState, gradientsFinite: boolean): LossScalerState {
  if (!gradientsFinite) return { ...s, scale: Math.max(s.scale / 2, 2 ** -24), goodSteps: 0, skippedSteps: s.skippedSteps + 1 };
  const goodSteps = s.goodSteps + 1;
  if (goodSteps >= s.growthInterval && s.scale * 2 <= s.maxScale) return { ...s, scale: s.scale * 2, goodSteps: 0 };
  return { ...s, goodSteps };
}

function isPowerOfTwo(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 && Math.log2(x) === Math.round(Math.log2(x));
}

/**
 * @throws HF_FORMAT naming the bad field.
 */
export function validateLossScaler(x: unknown): LossScalerState {
  const o = x as Partial<LossScalerState> | null;
  if (o === null || typeof o !== 'object') throw formatError('loss scaler state must be an object');
  if (!isPowerOfTwo(o.scale)) throw formatError(`loss scaler: scale ${JSON.stringify(o.scale)} is not a power of two`);
  if (!isPowerOfTwo(o.maxScale)) throw formatError(`loss scaler: maxScale ${JSON.stringify(o.maxScale)} is not a power of two`);
  for (const key of ['growthInterval', 'goodSteps', 'skippedSteps'] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key]! < 0) throw formatError(`loss scaler: ${key} must be a non-negative integer`);
  }
  if (o.growthInterval! < 1) throw formatError('loss scaler: growthInterval must be at least 1');
  return { scale: o.scale, growthInterval: o.growthInterval!, goodSteps: o.goodSteps!, skippedSteps: o.skippedSteps!, maxScale: o.maxScale };
}
