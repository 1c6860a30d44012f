/**
 * Which checkpoints retention keeps, and why: a pure function of what the
 * store holds (steps, creation times, states, tags, references) and the
 * policy, so every rule is testable on its own and `gc --dry-run` can print
 * the same verdicts a real run acts on.
 *
 * Rules combine by union: a checkpoint stays when any rule keeps it. Three
 * protections hold whatever the policy: the newest checkpoint that passes
 * verification (even when newer, corrupt ones push it out of the window), a
 * tagged one, and one whose files a kept incremental checkpoint references
 * (followed to a fixed point, so chains stay whole).
 */
import { invalidArg } from '../errors.js';
import type { JsonValue } from '../format/manifest-types.js';

export interface KeepBest {
  count: number;
  /** Dotted path into the checkpoint's `state`, e.g. `eval.loss`; digits index arrays. */
  metric: string;
  /** `min`: lower is better (a loss); `max`: higher is better (an accuracy). */
  mode: 'min' | 'max';
}

export interface RetentionPolicy {
  /** Keep the newest N committed checkpoints. */
  keepLast?: number;
  /** Keep every step that is a multiple of K. */
  keepEvery?: number;
  /** Keep the best N by a number recorded in `state`; checkpoints without it are not ranked. */
  keepBest?: KeepBest;
  /** Keep checkpoints created less than this long ago. */
  keepWithinMs?: number;
}

export interface RetentionCandidate {
  step: number;
  /** From the manifest; undefined when it cannot be read. */
  createdAtMs: number | undefined;
  /** Undefined when the manifest cannot be read. */
  state: JsonValue | undefined;
  tags: readonly string[];
  /** Steps whose files this checkpoint's manifest names (an incremental checkpoint's parents). */
  references: readonly number[];
}

export type RetentionRule = 'keep-last' | 'keep-every' | 'keep-best' | 'keep-within' | 'tagged' | 'newest-valid' | 'referenced' | 'not-uploaded' | 'held-locally';

export interface RetentionVerdict {
  step: number;
  keep: boolean;
  /** Kept: each rule that keeps it, with a detail. Deleted: one entry per rule in force saying why it did not. */
  reasons: { rule: RetentionRule; detail: string }[];
}

export interface RetentionContext {
  nowMs: number;
  newestValidStep: number | null;
  /** Kept whatever the policy, with the rule and why (a tiered store's: not uploaded yet, still held locally). */
  pinned?: ReadonlyMap<number, { rule: RetentionRule; detail: string }>;
}

export const RETENTION_RULE_OPTIONS = ['keepLast', 'keepEvery', 'keepBest', 'keepWithinMs'] as const;

/** Throws HF_INVALID_ARG for a policy that is malformed or keeps by no rule at all. */
export function assertRetentionPolicy(policy: RetentionPolicy): void {
  if (policy === null || typeof policy !== 'object') throw invalidArg('a retention policy must be an object');
  const { keepLast, keepEvery, keepBest, keepWithinMs } = policy;
  if (keepLast === undefined && keepEvery === undefined && keepBest === undefined && keepWithinMs === undefined) {
    throw invalidArg('a retention policy needs at least one rule: keepLast, keepEvery, keepBest or keepWithinMs');
  }
  const positive = (name: string, v: unknown, min: number): void => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)) throw invalidArg(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  positive('keepLast', keepLast, 1);
  positive('keepEvery', keepEvery, 1);
  positive('keepWithinMs', keepWithinMs, 0);
  if (keepBest !== undefined) {
    positive('keepBest.count', keepBest?.count, 1);
    if (typeof keepBest.metric !== 'string' || keepBest.metric.length === 0 || keepBest.metric.split('.').some((s) => s.length === 0)) {
      throw invalidArg(`keepBest.metric must be a dotted path into the state (e.g. "eval.loss"), got ${JSON.stringify(keepBest.metric)}`);
    }
    if (keepBest.mode !== 'min' && keepBest.mode !== 'max') throw invalidArg(`keepBest.mode must be "min" or "max", got ${JSON.stringify(keepBest.mode)}`);
  }
}

/** One verdict per candidate, oldest step first. */
export function evaluateRetention(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, context: RetentionContext): RetentionVerdict[] {
  assertRetentionPolicy(policy);
  const sorted = [...candidates].sort((a, b) => a.step - b.step);
  const kept = new Map<number, RetentionVerdict['reasons']>();
  const keep = (step: number, rule: RetentionRule, detail: string): void => void kept.set(step, [...(kept.get(step) ?? []), { rule, detail }]);
  const newest = sorted.slice(Math.max(0, sorted.length - (policy.keepLast ?? 0)));
  for (const c of newest) keep(c.step, 'keep-last', `among the newest ${policy.keepLast}`);
  if (policy.keepEvery !== undefined) for (const c of sorted) if (c.step % policy.keepEvery === 0) keep(c.step, 'keep-every', `step is a multiple of ${policy.keepEvery}`);
  const best = policy.keepBest === undefined ? [] : rankBest(sorted, policy.keepBest);
  for (const { step, value } of best) keep(step, 'keep-best', `${policy.keepBest!.metric} = ${value}, among the best ${policy.keepBest!.count} (${policy.keepBest!.mode})`);
  if (policy.keepWithinMs !== undefined) {
    for (const c of sorted) if (c.createdAtMs !== undefined && context.nowMs - c.createdAtMs < policy.keepWithinMs) keep(c.step, 'keep-within', `created ${formatAge(context.nowMs - c.createdAtMs)} ago`);
  }
  for (const c of sorted) if (c.tags.length > 0) keep(c.step, 'tagged', c.tags.join(', '));
  if (context.newestValidStep !== null && sorted.some((c) => c.step === context.newestValidStep)) keep(context.newestValidStep, 'newest-valid', 'the newest checkpoint that passes verification');
  for (const c of sorted) {
    const pin = context.pinned?.get(c.step);
    if (pin !== undefined) keep(c.step, pin.rule, pin.detail);
  }
  keepReferenced(sorted, kept, keep);
  return sorted.map((c) => {
    const reasons = kept.get(c.step);
    return reasons !== undefined ? { step: c.step, keep: true, reasons } : { step: c.step, keep: false, reasons: whyNot(c, policy, best) };
  });
}

/** The numeric value at `metric` (a dotted path) in `state`, or undefined when absent or not a finite number. */
export function metricValue(state: JsonValue | undefined, metric: string): number | undefined {
  let at: JsonValue | undefined = state;
  for (const key of metric.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = Array.isArray(at) ? (/^\d+$/.test(key) ? at[Number(key)] : undefined) : Object.hasOwn(at, key) ? at[key] : undefined;
  }
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}

/** Ties go to the newer step: it carries the most training. */
function rankBest(sorted: readonly RetentionCandidate[], best: KeepBest): { step: number; value: number }[] {
  const ranked: { step: number; value: number }[] = [];
  for (const c of sorted) {
    const value = metricValue(c.state, best.metric);
    if (value !== undefined) ranked.push({ step: c.step, value });
  }
  const sign = best.mode === 'min' ? 1 : -1;
  ranked.sort((a, b) => sign * (a.value - b.value) || b.step - a.step);
  return ranked.slice(0, best.count);
}

function keepReferenced(sorted: readonly RetentionCandidate[], kept: Map<number, unknown>, keep: (step: number, rule: RetentionRule, detail: string) => void): void {
  const byStep = new Map(sorted.map((c) => [c.step, c]));
  const pending = [...kept.keys()];
  while (pending.length > 0) {
    const child = byStep.get(pending.pop()!)!;
    for (const parent of child.references) {
      if (!byStep.has(parent) || parent === child.step) continue;
      if (!kept.has(parent)) pending.push(parent);
      keep(parent, 'referenced', `files referenced by kept checkpoint ${child.step}`);
    }
  }
}

function whyNot(c: RetentionCandidate, policy: RetentionPolicy, best: readonly { step: number }[]): RetentionVerdict['reasons'] {
  const reasons: RetentionVerdict['reasons'] = [];
  if (policy.keepLast !== undefined) reasons.push({ rule: 'keep-last', detail: `older than the newest ${policy.keepLast}` });
  if (policy.keepEvery !== undefined) reasons.push({ rule: 'keep-every', detail: `not a multiple of ${policy.keepEvery}` });
  if (policy.keepBest !== undefined) {
    const value = metricValue(c.state, policy.keepBest.metric);
    const detail = value === undefined ? `no number at ${policy.keepBest.metric} in its state` : `${policy.keepBest.metric} = ${value}, not among the best ${best.length}`;
    reasons.push({ rule: 'keep-best', detail });
  }
  if (policy.keepWithinMs !== undefined) {
    reasons.push({ rule: 'keep-within', detail: c.createdAtMs === undefined ? 'creation time unreadable' : `older than ${formatAge(policy.keepWithinMs)}` });
  }
  return reasons;
}

/** `3d4h`, `12m`, `40s`, `250ms`: the two largest units. */
export function formatAge(ms: number): string {
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  const parts: string[] = [];
  let rest = Math.max(0, Math.floor(ms));
  for (const [name, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${name}`);
      rest %= size;
    } else if (parts.length > 0) break;
  }
  return parts.length > 0 ? parts.join('') : `${rest}ms`;
}
