/**
 * How often to checkpoint, as an economics problem (seed 003): every
 * checkpoint costs a training pause C; every failure (mean time between
 * failures M) costs a restart, a restore and the work done since the last
 * committed checkpoint. With T the training time between checkpoints, the
 * expected fraction of time lost is, to first order,
 *
 *   lost(T) = C / (T + C)                     the pauses
 *           + ((T + C) / 2 + L) / M           rework: half a period on average, plus the commit lag L
 *           + (R_restart + R_restore) / M     getting back up
 *
 * where L = write time − pause (a background save commits L after its pause,
 * so a failure in that window loses the previous period too). Young (1974):
 * T = √(2CM). Daly (2006), higher order: T = √(2CM)·[1 + ⅓√(C/2M) + (C/2M)/9] − C
 * for C < 2M, else T = M. An interval shorter than L cannot be kept (one
 * background save at a time), so it is raised to L and says so.
 */
import { invalidArg } from '../errors.js';
import type { Manifest } from '../format/manifest-types.js';

export interface IntervalInputs {
  /** Training pause per checkpoint, ms (C). */
  pauseMs: number;
  /** Start of the save to its commit, ms (≥ pause). */
  writeMs: number;
  /** Restoring a checkpoint after a failure, ms. */
  restoreMs: number;
  /** Mean time between failures of the job, ms (M). */
  mtbfMs: number;
  /** Restarting the job before the restore (scheduling, start-up), ms. Default 0. */
  restartMs?: number;
  /** Training time between checkpoints the job uses today, ms, to compare with. */
  currentIntervalMs?: number;
}

export interface IntervalRow {
  rule: 'young' | 'daly' | 'current';
  /** Training time between checkpoints, ms. */
  intervalMs: number;
  /** Fractions of wall time, each in [0, 1]. */
  pauseFraction: number;
  reworkFraction: number;
  restartFraction: number;
  lostFraction: number;
  /** Set when the rule's interval was below the commit lag and raised to it. */
  note?: string;
}

export function adviseInterval(inputs: IntervalInputs): IntervalRow[] {
  assertInputs(inputs);
  const { pauseMs: c, mtbfMs: m } = inputs;
  const young = Math.sqrt(2 * c * m);
  const ratio = c / (2 * m);
  const daly = c < 2 * m ? young * (1 + Math.sqrt(ratio) / 3 + ratio / 9) - c : m;
  const rows = [row('young', young, inputs), row('daly', daly, inputs)];
  if (inputs.currentIntervalMs !== undefined) rows.push(row('current', inputs.currentIntervalMs, inputs));
  return rows;
}

function row(rule: IntervalRow['rule'], wantedMs: number, i: IntervalInputs): IntervalRow {
  const lag = Math.max(0, i.writeMs - i.pauseMs);
  const intervalMs = Math.max(wantedMs, lag);
  const period = intervalMs + i.pauseMs;
  const pauseFraction = period === 0 ? 0 : i.pauseMs / period;
  const reworkFraction = (period / 2 + lag) / i.mtbfMs;
  const restartFraction = ((i.restartMs ?? 0) + i.restoreMs) / i.mtbfMs;
  const out: IntervalRow = {
    rule,
    intervalMs,
    pauseFraction,
    reworkFraction,
    restartFraction,
    lostFraction: Math.min(1, pauseFraction + reworkFraction + restartFraction),
  };
  if (intervalMs > wantedMs && rule !== 'current') out.note = `raised from ${Math.round(wantedMs)} ms to the commit lag: one background save at a time`;
  return out;
}

function assertInputs(i: IntervalInputs): void {
  const fields: [string, number | undefined, boolean][] = [
    ['pauseMs', i.pauseMs, true],
    ['writeMs', i.writeMs, true],
    ['restoreMs', i.restoreMs, true],
    ['mtbfMs', i.mtbfMs, true],
    ['restartMs', i.restartMs, false],
    ['currentIntervalMs', i.currentIntervalMs, false],
  ];
  for (const [name, v, required] of fields) {
    if (v === undefined && !required) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidArg(`${name} must be a non-negative number of milliseconds, got ${JSON.stringify(v)}`);
  }
  if (i.mtbfMs === 0) throw invalidArg('mtbfMs must be greater than 0');
}

/** How many of the newest checkpoints the measured costs are taken from. */
const SAMPLE_CHECKPOINTS = 20;

export interface MeasuredCosts {
  /** Medians over the newest checkpoints that recorded their timing (manifest 2.0). */
  pauseMs: number;
  writeMs: number;
  /** Median training time between consecutive checkpoints (gap between their creation, less the pause); undefined with fewer than two. */
  currentIntervalMs?: number;
  samples: number;
}

/** The save costs the store's manifests recorded, newest `SAMPLE_CHECKPOINTS` with timing; undefined when none has any. */
export function measuredCosts(manifests: readonly Pick<Manifest, 'step' | 'createdAt' | 'timing'>[]): MeasuredCosts | undefined {
  const timed = [...manifests]
    .filter((m) => m.timing !== undefined)
    .sort((a, b) => a.step - b.step)
    .slice(-SAMPLE_CHECKPOINTS);
  if (timed.length === 0) return undefined;
  const pauseMs = median(timed.map((m) => m.timing!.pauseMs));
  const out: MeasuredCosts = { pauseMs, writeMs: median(timed.map((m) => m.timing!.writeMs)), samples: timed.length };
  const gaps = timed.slice(1).map((m, i) => Date.parse(m.createdAt) - Date.parse(timed[i]!.createdAt));
  if (gaps.length > 0 && gaps.every(Number.isFinite)) out.currentIntervalMs = Math.max(0, median(gaps) - pauseMs);
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
