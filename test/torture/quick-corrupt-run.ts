/**
 * What every quick corruption campaign must show, whatever its fixture (plain or encrypted): no
 * violation, every required row whole, at least 500 fault trials all detected and rolled back
 * bit-exact, no false alarm, and no benign variant flagged.
 */
import assert from 'node:assert/strict';
import type { CampaignResult } from '../../src/torture/campaign.js';

export const row = (r: CampaignResult, group: string) => r.rows.find((x) => x.group === group)!;

/** Asserts the above; returns the "all faults" row for further checks. */
export function assertQuickCorruptRun(r: CampaignResult): ReturnType<typeof row> {
  assert.deepEqual(r.violations, [], r.violations.map((v) => `${v.description}\n  ${v.replay}`).join('\n'));
  for (const x of r.rows.filter((x) => x.required)) assert.equal(x.guarantee.k, x.guarantee.n, `${x.group}: ${JSON.stringify(x.outcomes)}`);
  const faults = row(r, 'all faults');
  assert.ok(faults.trials >= 500, `${faults.trials} fault trials`);
  assert.equal(faults.outcomes['missed'] ?? 0, 0);
  assert.equal(faults.outcomes['rollback:ok'], faults.trials);
  assert.equal(r.counters['falseAlarms'], 0);
  assert.equal(row(r, 'all benign variants').outcomes['no-alarm'], row(r, 'all benign variants').trials);
  return faults;
}
