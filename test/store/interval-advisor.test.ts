import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adviseInterval, measuredCosts } from '../../src/store/interval-advisor.js';
import { openStore } from '../../src/store/open-store.js';
import { expectError, expectRejection } from '../format/fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

const HOUR = 3_600_000;

describe('interval advisor', () => {
  test('Young is √(2CM); Daly is close above it for C ≪ M; lost time is smallest near them', () => {
    const inputs = { pauseMs: 10_000, writeMs: 10_000, restoreMs: 60_000, mtbfMs: 24 * HOUR };
    const [young, daly] = adviseInterval(inputs);
    assert.equal(young!.intervalMs, Math.sqrt(2 * 10_000 * 24 * HOUR));
    assert.ok(Math.abs(daly!.intervalMs - young!.intervalMs) / young!.intervalMs < 0.02, 'Daly within 2 % of Young when C/M is tiny');
    const lost = (t: number): number => adviseInterval({ ...inputs, currentIntervalMs: t })[2]!.lostFraction;
    assert.ok(lost(young!.intervalMs) < lost(young!.intervalMs / 4));
    assert.ok(lost(young!.intervalMs) < lost(young!.intervalMs * 4));
    // The parts add up: pauses + rework + restart.
    const r = young!;
    assert.equal(r.lostFraction, r.pauseFraction + r.reworkFraction + r.restartFraction);
    assert.equal(r.restartFraction, 60_000 / (24 * HOUR));
  });

  test('an interval below the commit lag of a background save is raised to it, with a note', () => {
    const [young] = adviseInterval({ pauseMs: 1, writeMs: 600_000, restoreMs: 0, mtbfMs: 60_000 });
    assert.equal(young!.intervalMs, 600_000 - 1);
    assert.match(young!.note!, /raised .* commit lag/);
  });

  test('Daly falls back to M when the checkpoint costs more than 2M', () => {
    assert.equal(adviseInterval({ pauseMs: 3 * HOUR, writeMs: 3 * HOUR, restoreMs: 0, mtbfMs: HOUR })[1]!.intervalMs, HOUR);
  });

  test('bad inputs are refused by name', () => {
    expectError(() => adviseInterval({ pauseMs: -1, writeMs: 0, restoreMs: 0, mtbfMs: 1 }), 'HF_INVALID_ARG', 'pauseMs');
    expectError(() => adviseInterval({ pauseMs: 1, writeMs: 1, restoreMs: 0, mtbfMs: 0 }), 'HF_INVALID_ARG', 'mtbfMs must be greater than 0');
  });

  test('measured costs: medians of the recorded timing, the interval from creation gaps less the pause', () => {
    const at = (s: number): string => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
    const m = measuredCosts([
      { step: 1, createdAt: at(0), timing: { pauseMs: 100, writeMs: 900 } },
      { step: 2, createdAt: at(60), timing: { pauseMs: 300, writeMs: 1100 } },
      { step: 3, createdAt: at(130), timing: { pauseMs: 200, writeMs: 1000 } },
      { step: 0, createdAt: at(-999), timing: undefined },
    ]);
    assert.deepEqual(m, { pauseMs: 200, writeMs: 1000, currentIntervalMs: 65_000 - 200, samples: 3 });
    assert.equal(measuredCosts([{ step: 1, createdAt: at(0), timing: undefined }]), undefined);
  });

  test('store.adviseInterval reads what the saves recorded', async (t) => {
    const store = await openStore(tempDir(t));
    t.after(() => store.close());
    await expectRejection(store.adviseInterval({ mtbfMs: HOUR }), 'HF_NOT_FOUND', 'no checkpoint records its save timing');
    for (const step of [1, 2, 3]) await store.save(step, { tensors: sampleTensors(step) });
    const handle = store.saveAsync(4, { tensors: sampleTensors(4) });
    await handle.committed;
    const m4 = await store.inspect(4);
    assert.ok(m4.timing !== undefined && m4.timing.pauseMs <= m4.timing.writeMs, 'a background save records a pause shorter than its write');
    const advice = await store.adviseInterval({ mtbfMs: HOUR, restartMs: 30_000 });
    assert.equal(advice.measured.samples, 4);
    assert.equal(advice.restoreEstimated, true);
    assert.deepEqual(advice.rows.map((r) => r.rule), ['young', 'daly', 'current']);
  });
});
