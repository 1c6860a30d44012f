/**
 * The learning-rate schedule of a run: linear warm-up, then cosine decay to a
 * floor. Its state (the parameters plus the last optimizer step it served) is
 * saved with the checkpoint, so a resumed run continues on the same curve
 * rather than restarting the warm-up; a schedule edited between runs shows up
 * as a config-hash difference, not as a silent kink in the curve.
 *
 * Contract: `learningRateAt` is a pure function of (state parameters, step),
 * computed in double precision with the same operations every time.
 */
import { formatError } from '../errors.js';

export interface LrScheduleState {
  kind: 'warmup-cosine';
  baseLr: number;
  minLr: number;
  warmupSteps: number;
  /** Optimizer steps after which the rate stays at `minLr`. */
  totalSteps: number;
  /** The optimizer step the rate was last computed for (0 before the first). */
  lastStep: number;
}

export function warmupCosineSchedule(options: { baseLr: number; minLr: number; warmupSteps: number; totalSteps: number }): LrScheduleState {
  return validateLrSchedule({ kind: 'warmup-cosine', ...options, lastStep: 0 });
}

/** The rate for 1-based optimizer step `step`. */
export function learningRateAt(s: LrScheduleState, step: number): number {
  if (step <= s.warmupSteps) return (s.baseLr * step) / s.warmupSteps;
  if (step >= s.totalSteps) return s.minLr;
  const progress = (step - s.warmupSteps) / (s.totalSteps - s.warmupSteps);
  return s.minLr + 0.5 * (s.baseLr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Advances the schedule to `step` and returns the new state and its rate. */
export function stepLrSchedule(s: LrScheduleState, step: number): { state: LrScheduleState; lr: number } {
  return { state: { ...s, lastStep: step }, lr: learningRateAt(s, step) };
}

/**
 * @throws HF_FORMAT naming the bad field.
 */
export function validateLrSchedule(x: unknown): LrScheduleState {
  const o = x as Partial<LrScheduleState> | null;
  if (o === null || typeof o !== 'object' || o.kind !== 'warmup-cosine') throw formatError('LR schedule: kind must be "warmup-cosine"');
  for (const key of ['baseLr', 'minLr'] as const) {
    if (typeof o[key] !== 'number' || !Number.isFinite(o[key]) || o[key]! < 0) throw formatError(`LR schedule: ${key} must be a finite non-negative number`);
  }
  for (const key of ['warmupSteps', 'totalSteps', 'lastStep'] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key]! < 0) throw formatError(`LR schedule: ${key} must be a non-negative integer`);
  }
  if (o.totalSteps! <= o.warmupSteps!) throw formatError('LR schedule: totalSteps must exceed warmupSteps');
  return { kind: 'warmup-cosine', baseLr: o.baseLr!, minLr: o.minLr!, warmupSteps: o.warmupSteps!, totalSteps: o.totalSteps!, lastStep: o.lastStep! };
}
