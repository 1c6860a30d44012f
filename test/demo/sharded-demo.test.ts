/**
 * `npm run demo:sharded` end to end, kept small: 4 rank processes, one
 * SIGKILLed mid-save, the job back on 3 ranks from 4-rank slabs, its leader
 * SIGKILLed before a commit, back again; every checkpoint verifies and the
 * result is bit-identical to a single-process run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { crashPlan } from '../../src/demo/sharded/main.js';
import { sliceOf } from '../../src/demo/sharded/rank-slices.js';
import { tempDir } from '../helpers/temp-dir.js';

const MAIN = fileURLToPath(new URL('../../src/demo/sharded/main.js', import.meta.url));

test('the sharded demo resumes on another world size and reports IDENTICAL', (t) => {
  const store = join(tempDir(t), 'sharded');
  const r = spawnSync(process.execPath, [MAIN, '--steps', '30', '--interval', '10', '--store', store], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /rank 3 SIGKILLed at step 10 \(files-durable\)/);
  assert.match(r.stdout, /incarnation 2 \(3 ranks\): fresh start|incarnation 2 \(3 ranks\): resumed from step/);
  assert.match(r.stdout, /rank 0 SIGKILLed at step 20 \(manifest-ready\)/);
  assert.match(r.stdout, /checkpoints in the store: .*\(3 ranks\)/);
  assert.doesNotMatch(r.stdout, /FAILED verification/);
  assert.match(r.stdout, /loss curve: +30\/30 steps bit-identical/);
  assert.match(r.stdout, /VERDICT: IDENTICAL/);
});

test('slices tile every tensor for any world size; the crash plan lands on saves in order', () => {
  for (const n of [0, 1, 7, 1024, 4099]) {
    for (const w of [1, 3, 4]) {
      const ranges = Array.from({ length: w }, (_, r) => sliceOf(n, r, w));
      assert.equal(ranges[0]![0], 0);
      assert.equal(ranges.at(-1)![1], n);
      for (let r = 1; r < w; r++) assert.equal(ranges[r]![0], ranges[r - 1]![1]);
    }
  }
  const plan = crashPlan({ steps: 200, interval: 20, ranks: 4, resumeRanks: 3, seed: 1, store: 'x', corpus: 'y' });
  assert.deepEqual(plan.map((p) => [p.worldSize, p.dieAt?.step, p.dieAt?.phase]), [[4, 80, 'files-durable'], [3, 140, 'manifest-ready'], [3, undefined, undefined]]);
  assert.equal(spawnSync(process.execPath, [MAIN, '--ranks', 'many'], { encoding: 'utf8' }).status, 2);
});
