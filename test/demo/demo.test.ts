/**
 * `npm start` (dist/src/demo/main.js) end to end, kept small: the plain-JS
 * model, crashes included, must print an IDENTICAL verdict and exit 0; usage
 * errors exit 2; a directory the demo did not create is never wiped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { planCrashes } from '../../src/demo/kill-plan.js';
import { tempDir } from '../helpers/temp-dir.js';

const MAIN = fileURLToPath(new URL('../../src/demo/main.js', import.meta.url));

function demo(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the demo resumes through crashes and reports IDENTICAL (plain model, small run)', (t) => {
  const store = join(tempDir(t), 'demo');
  const r = demo(['--model', 'plain', '--steps', '60', '--interval', '10', '--crashes', '3', '--seed', '5', '--store', store]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /VERDICT: IDENTICAL/);
  assert.match(r.out, /3 SIGKILLs \(1 mid-save\)/);
  assert.match(r.out, /loss curve: +60\/60 steps bit-identical/);
  assert.match(r.out, /✗ SIGKILL during the save of checkpoint/);
  assert.match(r.out, /↻ run \d: resumed from checkpoint \d+/);
  // Run again on the same directory: the demo's own directory is wiped and reused.
  const again = demo(['--model', 'plain', '--steps', '20', '--interval', '10', '--crashes', '1', '--store', store]);
  assert.equal(again.code, 0, again.out + again.err);
});

test('usage errors exit 2; --help exits 0; a foreign directory is not wiped', (t) => {
  assert.equal(demo(['--help']).code, 0);
  assert.match(demo(['--help']).out, /--crashes C/);
  assert.equal(demo(['--steps', 'many']).code, 2);
  assert.equal(demo(['--model', 'torch']).code, 2);
  assert.equal(demo(['--bogus']).code, 2);
  const foreign = join(tempDir(t), 'precious');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'thesis.tex'), 'do not delete');
  const r = demo(['--store', foreign, '--model', 'plain', '--steps', '10']);
  assert.equal(r.code, 2);
  assert.match(r.err, /refusing to wipe/);
  assert.ok(existsSync(join(foreign, 'thesis.tex')));
});

test('the kill plan is seeded, sorted, and alternates step kills with mid-save kills', () => {
  const a = planCrashes({ steps: 400, crashes: 5, seed: 1 });
  assert.deepEqual(planCrashes({ steps: 400, crashes: 5, seed: 1 }), a);
  assert.notDeepEqual(planCrashes({ steps: 400, crashes: 5, seed: 2 }), a);
  assert.deepEqual(a.map((c) => c.kind), ['step', 'mid-save', 'step', 'mid-save', 'step']);
  assert.deepEqual(a.map((c) => c.atStep), [...a.map((c) => c.atStep)].sort((x, y) => x - y));
  assert.equal(new Set(a.map((c) => c.atStep)).size, 5);
});
