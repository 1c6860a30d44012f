/**
 * Peak resident memory of a `saveAsync` in a real process of its own (read
 * from the kernel's VmHWM): within a staging budget B it stays under
 * resident-before-the-state + state + B + the fixed overhead stated in the
 * README (STAGING_OVERHEAD_BYTES); without a budget the same save needs the
 * state twice and breaks that bound, so the bound is not vacuous.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { runSaveMemoryChild, type SaveMemoryResult } from '../../src/bench/save-memory-child.js';
import { tempDir } from '../helpers/temp-dir.js';

const MiB = 1024 * 1024;
/** README, Guarantees: the writer's buffers (128 MiB), hashing staging (32 MiB), workers and heap growth. */
const STAGING_OVERHEAD_BYTES = 256 * MiB;
const STATE_MIB = 384;
const BUDGET_MIB = 64;

function bound(r: SaveMemoryResult, budgetBytes: number): number {
  return r.rssBeforeStateBytes + r.stateBytes + budgetBytes + STAGING_OVERHEAD_BYTES;
}

const mib = (n: number): string => `${(n / MiB).toFixed(0)} MiB`;

test('peak memory of a budgeted saveAsync is within state + budget + the stated overhead; unbudgeted it is not', async (t) => {
  const dir = tempDir(t);
  const budgeted = await runSaveMemoryChild(join(dir, 'a'), { stateMib: STATE_MIB, budgetMib: BUDGET_MIB, shardMib: 32 });
  // 16 tensors of 24 MiB, one per shard file: two fit the budget.
  assert.equal(budgeted.stagedBytes, 48 * MiB);
  assert.equal(budgeted.deferredBytes, (STATE_MIB - 48) * MiB);
  const limit = bound(budgeted, BUDGET_MIB * MiB);
  assert.ok(budgeted.peakRssBytes <= limit, `peak ${mib(budgeted.peakRssBytes)} > ${mib(limit)} (before ${mib(budgeted.rssBeforeStateBytes)})`);

  const whole = await runSaveMemoryChild(join(dir, 'b'), { stateMib: STATE_MIB, shardMib: 32 });
  assert.equal(whole.deferredBytes, 0);
  assert.ok(whole.peakRssBytes > bound(whole, BUDGET_MIB * MiB), `unbudgeted peak ${mib(whole.peakRssBytes)} should exceed ${mib(bound(whole, BUDGET_MIB * MiB))}`);
});
