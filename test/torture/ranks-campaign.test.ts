// The quick seeded `torture ranks` run: real rank processes on a real temporary directory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { runRanksCampaign } from '../../src/torture/ranks-campaign.js';
import { ranksScenarios } from '../../src/torture/ranks-scenarios.js';

test('torture ranks (quick, seed 1): every scenario with 4 real rank processes keeps every guarantee', async () => {
  const base = mkdtempSync(join(tmpdir(), 'holdfast-ranks-test-'));
  try {
    const result = await runRanksCampaign({ backend: 'local', base, seed: 1, full: false, repeat: 1, deadlineMs: 8000, commitMarginMs: 4000, cleanup: (w) => Promise.resolve(rmSync(w, { recursive: true, force: true })) });
    assert.deepEqual(result.violations, []);
    assert.equal(result.trials, ranksScenarios('local', 1, false).length);
    // The fault-free trial commits, the ones where a rank died before its record do not.
    assert.equal(result.byScenario.get('no fault')?.committed, 1);
    for (const [name, row] of result.byScenario) if (/never starts|error record|before its record|before its data fsync/.test(name)) assert.equal(row.committed, 0, name);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
