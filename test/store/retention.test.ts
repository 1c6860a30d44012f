/** The retention policy as a pure function: each rule alone, their union, the three protections, and the reasons. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { evaluateRetention, formatAge, metricValue, type RetentionCandidate, type RetentionPolicy } from '../../src/store/retention.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const HOUR = 3_600_000;

/** Steps 10, 20, …, 100, one per hour (step 100 the newest, an hour old), loss falling with a bump. */
function candidates(overrides: Partial<Record<number, Partial<RetentionCandidate>>> = {}): RetentionCandidate[] {
  return [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((step, i) => ({
    step,
    createdAtMs: NOW - (10 - i) * HOUR,
    state: { eval: { loss: step === 50 ? 0.001 : 1 / step }, acc: [step / 100] },
    tags: [],
    references: [],
    ...overrides[step],
  }));
}

function kept(policy: RetentionPolicy, cands = candidates(), newestValidStep: number | null = 100): number[] {
  return evaluateRetention(cands, policy, { nowMs: NOW, newestValidStep }).filter((v) => v.keep).map((v) => v.step);
}

describe('evaluateRetention', () => {
  it('a pinned step (a tiered store: not uploaded yet, held locally) stays with its rule, and so do the steps it references', () => {
    const cands = candidates({ 30: { references: [20] } });
    const pinned = new Map([[30, { rule: 'not-uploaded' as const, detail: 'the durable tier does not hold it yet (local)' }]]);
    const verdicts = evaluateRetention(cands, { keepLast: 1 }, { nowMs: NOW, newestValidStep: 100, pinned });
    assert.deepEqual(verdicts.filter((v) => v.keep).map((v) => v.step), [20, 30, 100]);
    assert.deepEqual(verdicts.find((v) => v.step === 30)!.reasons.map((r) => r.rule), ['not-uploaded']);
    assert.deepEqual(verdicts.find((v) => v.step === 20)!.reasons.map((r) => r.rule), ['referenced']);
  });

  it('keep-last N keeps the newest N steps (by step, whatever order they come in)', () => {
    assert.deepEqual(kept({ keepLast: 3 }, candidates().reverse()), [80, 90, 100]);
    assert.deepEqual(kept({ keepLast: 50 }), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it('keep-every K keeps multiples of K (and the newest valid one)', () => {
    assert.deepEqual(kept({ keepEvery: 40 }), [40, 80, 100]);
  });

  it('keep-best N ranks by the metric at a dotted path, min or max; no number there means not ranked', () => {
    assert.deepEqual(kept({ keepBest: { count: 2, metric: 'eval.loss', mode: 'min' } }, candidates(), null), [50, 100]);
    assert.deepEqual(kept({ keepBest: { count: 2, metric: 'eval.loss', mode: 'max' } }, candidates(), null), [10, 20]);
    assert.deepEqual(kept({ keepBest: { count: 1, metric: 'acc.0', mode: 'max' } }, candidates(), null), [100]);
    const noMetric = candidates({ 10: { state: { eval: { loss: 'n/a' } } }, 20: { state: undefined } });
    assert.deepEqual(kept({ keepBest: { count: 2, metric: 'eval.loss', mode: 'max' } }, noMetric, null), [30, 40]);
  });

  it('keep-best ties go to the newer step', () => {
    const tie = candidates({ 30: { state: { eval: { loss: 0.001 } } } });
    assert.deepEqual(kept({ keepBest: { count: 1, metric: 'eval.loss', mode: 'min' } }, tie, null), [50]);
  });

  it('keep-within keeps what was created less than the duration ago; an unreadable time is not young', () => {
    assert.deepEqual(kept({ keepWithinMs: 3 * HOUR + 1 }), [80, 90, 100]);
    assert.deepEqual(kept({ keepWithinMs: 3 * HOUR + 1 }, candidates({ 90: { createdAtMs: undefined } })), [80, 100]);
  });

  it('rules combine by union', () => {
    assert.deepEqual(kept({ keepLast: 1, keepEvery: 50, keepBest: { count: 1, metric: 'eval.loss', mode: 'min' }, keepWithinMs: 2 * HOUR + 1 }), [50, 90, 100]);
    assert.deepEqual(kept({ keepLast: 2, keepEvery: 30 }), [30, 60, 90, 100]);
  });

  it('never lets go of the newest valid checkpoint, even when newer (corrupt) ones fill the window', () => {
    assert.deepEqual(kept({ keepLast: 2 }, candidates(), 70), [70, 90, 100]);
    assert.deepEqual(kept({ keepLast: 2 }, candidates(), null), [90, 100]);
  });

  it('never lets go of a tagged checkpoint', () => {
    const verdicts = evaluateRetention(candidates({ 20: { tags: ['paper', 'v1'] } }), { keepLast: 1 }, { nowMs: NOW, newestValidStep: 100 });
    assert.deepEqual(verdicts.filter((v) => v.keep).map((v) => v.step), [20, 100]);
    assert.deepEqual(verdicts.find((v) => v.step === 20)!.reasons, [{ rule: 'tagged', detail: 'paper, v1' }]);
  });

  it('keeps what a kept checkpoint references, through chains, but not what only a deleted one references', () => {
    const cands = candidates({ 100: { references: [90, 40] }, 90: { references: [20] }, 60: { references: [10] } });
    const verdicts = evaluateRetention(cands, { keepLast: 1 }, { nowMs: NOW, newestValidStep: 100 });
    assert.deepEqual(verdicts.filter((v) => v.keep).map((v) => v.step), [20, 40, 90, 100]);
    assert.deepEqual(verdicts.find((v) => v.step === 20)!.reasons, [{ rule: 'referenced', detail: 'files referenced by kept checkpoint 90' }]);
    // A reference to a step that is not committed (already gone) is ignored, not an error.
    assert.deepEqual(kept({ keepLast: 1 }, candidates({ 100: { references: [5] } })), [100]);
  });

  it('says why each deleted checkpoint goes, one reason per rule in force', () => {
    const policy: RetentionPolicy = { keepLast: 1, keepEvery: 200, keepBest: { count: 1, metric: 'eval.loss', mode: 'min' }, keepWithinMs: HOUR };
    const v = evaluateRetention(candidates({ 30: { state: null } }), policy, { nowMs: NOW, newestValidStep: 100 });
    assert.deepEqual(v.find((x) => x.step === 30), {
      step: 30,
      keep: false,
      reasons: [
        { rule: 'keep-last', detail: 'older than the newest 1' },
        { rule: 'keep-every', detail: 'not a multiple of 200' },
        { rule: 'keep-best', detail: 'no number at eval.loss in its state' },
        { rule: 'keep-within', detail: 'older than 1h' },
      ],
    });
    assert.deepEqual(v.find((x) => x.step === 40)!.reasons[2], { rule: 'keep-best', detail: 'eval.loss = 0.025, not among the best 1' });
  });

  it('refuses a policy without rules or with malformed ones', () => {
    const bad: unknown[] = [{}, { keepLast: 0 }, { keepEvery: 1.5 }, { keepWithinMs: -1 }, { keepBest: { count: 1, metric: '', mode: 'min' } }, { keepBest: { count: 1, metric: 'a..b', mode: 'min' } }, { keepBest: { count: 1, metric: 'loss', mode: 'lowest' } }, { keepBest: { count: 0, metric: 'loss', mode: 'min' } }];
    for (const policy of bad) assert.throws(() => evaluateRetention([], policy as RetentionPolicy, { nowMs: NOW, newestValidStep: null }), (e) => isHoldfastError(e, 'HF_INVALID_ARG'), JSON.stringify(policy));
  });
});

describe('metricValue and formatAge', () => {
  it('reads finite numbers at a dotted path and nothing else', () => {
    const state = { a: { b: [1, { c: 2.5 }] }, s: '3', n: null, inf: 1e400 };
    assert.equal(metricValue(state, 'a.b.0'), 1);
    assert.equal(metricValue(state, 'a.b.1.c'), 2.5);
    for (const p of ['s', 'n', 'inf', 'a', 'a.b.2', 'a.b.x', 'x.y', 'constructor', '__proto__']) assert.equal(metricValue(state, p), undefined, p);
    assert.equal(metricValue(undefined, 'a'), undefined);
  });

  it('formats ages with their two largest units', () => {
    assert.equal(formatAge(3 * 86_400_000 + 4 * HOUR + 5000), '3d4h');
    assert.equal(formatAge(HOUR), '1h');
    assert.equal(formatAge(61_000), '1m1s');
    assert.equal(formatAge(250), '250ms');
  });
});
