// `torture ranks` on the real S3 server: the leader's manifest PUT succeeds on the server but its
// response is lost on the wire (the fault proxy). The leader must still report the commit (its
// read-back finds its own attempt's manifest), every rank's commit must resolve, and the
// checkpoint must verify and restore bit for bit.
import assert from 'node:assert/strict';
import test from 'node:test';
import { runRanksCampaign } from '../../src/torture/ranks-campaign.js';
import { ranksScenarios } from '../../src/torture/ranks-scenarios.js';
import { s3Suite } from '../helpers/s3-server.js';

const LOST = "the leader's manifest PUT succeeds but its response is lost";

test('the lost-response scenario is an S3 scenario, quick and full, and no local one', () => {
  for (const full of [false, true]) {
    assert.equal(ranksScenarios('s3', 1, full).filter((s) => s.name === LOST).length, 1);
    assert.equal(ranksScenarios('local', 1, full).filter((s) => s.name === LOST).length, 0);
  }
});

s3Suite('torture ranks on S3', (b) => {
  test("a lost response after the leader's successful manifest PUT: every rank reports the commit of its attempt, and it verifies", async () => {
    const trials: Parameters<NonNullable<Parameters<typeof runRanksCampaign>[0]['onTrial']>>[0][] = [];
    const result = await runRanksCampaign({
      backend: 's3',
      base: `s3://${b.bucket}/ranks/`,
      seed: 1,
      full: false,
      repeat: 1,
      deadlineMs: 8000,
      commitMarginMs: 4000,
      only: (name) => name === LOST,
      onTrial: (t) => trials.push(t),
    });
    assert.deepEqual(result.violations, []);
    assert.equal(result.trials, 1);
    assert.equal(result.committed, 1);
    const [trial] = trials;
    assert.equal(trial!.latest, 2);
    assert.deepEqual(
      trial!.reports.map((r) => r.outcome),
      ['committed', 'committed', 'committed', 'committed'],
    );
  });
});
