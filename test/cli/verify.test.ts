/** `holdfast verify`: names the failing file and reason, exits 1 on any failure, changes nothing on disk. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ckptDir, commit, expectExit, expectSpawnExit, flipByte, inputs, snapshot, tempDir } from './helpers.js';

async function twoCheckpoints(): Promise<{ dir: string; store: string }> {
  const dir = tempDir();
  const { a, b } = inputs(dir);
  const store = join(dir, 's');
  await commit(store, 1, [a, b]);
  await commit(store, 2, [a, b]);
  return { dir, store };
}

describe('holdfast verify', () => {
  it('passes (exit 0) before corruption and fails (exit 1) naming the file after a flipped byte, changing nothing', async () => {
    const { store } = await twoCheckpoints();
    const ok = await expectExit(['verify', store], 0);
    assert.match(ok.stdout, /^1\s+ok/m);
    assert.match(ok.stdout, /^2\s+ok/m);

    flipByte(join(ckptDir(store, 2), 'b.bin'), 123_456);
    const before = snapshot(store);
    const r = expectSpawnExit(['verify', store], 1); // the real binary: report on stdout, summary on stderr
    assert.match(r.stdout, /^1\s+ok/m);
    assert.match(r.stdout, /^2\s+FAILED/m);
    assert.match(r.stdout, /b\.bin: hash: .*SHA-256 mismatch/);
    assert.match(r.stderr, /^holdfast verify: 1 of 2 checkpoint\(s\) failed verification: step 2$/m);
    assert.deepEqual(snapshot(store), before, 'verify must not change the store');
    assert.equal(existsSync(join(store, '.quarantine')), false);
  });

  it('reports size, missing and bad-manifest problems with their reasons in JSON', async () => {
    const { store } = await twoCheckpoints();
    await commit(store, 3, [join(store, '..', 'a.bin')]);
    truncateSync(join(ckptDir(store, 1), 'b.bin'), 10);
    rmSync(join(ckptDir(store, 2), 'a.bin'));
    writeFileSync(join(ckptDir(store, 3), 'manifest.json'), '{"format": "holdfast"');
    const r = await expectExit(['verify', store, '--json'], 1);
    const json = JSON.parse(r.stdout) as { ok: boolean; checkpoints: { step: number; ok: boolean; problems: { file: string; reason: string }[] }[] };
    assert.equal(json.ok, false);
    const byStep = new Map(json.checkpoints.map((c) => [c.step, c.problems.map((p) => `${p.file}:${p.reason}`)]));
    assert.deepEqual(byStep.get(1), ['b.bin:size']);
    assert.deepEqual(byStep.get(2), ['a.bin:missing']);
    assert.deepEqual(byStep.get(3), ['manifest.json:bad-manifest']);
  });

  it('verifies only --step <n>, and fails (exit 1) for a step that does not exist', async () => {
    const { store } = await twoCheckpoints();
    flipByte(join(ckptDir(store, 2), 'a.bin'));
    const one = await expectExit(['verify', store, '--step', '1'], 0);
    assert.doesNotMatch(one.stdout, /^2/m);
    assert.match((await expectExit(['verify', store, '--step', '2'], 1)).stdout, /a\.bin: hash/);
    assert.match((await expectExit(['verify', store, '--step', '7'], 1)).stderr, /no committed checkpoint for step 7/);
    assert.match((await expectExit(['verify', store, '--step', 'x'], 2)).stderr, /--step must be a non-negative integer, got "x"/);
  });

  it('exits 3 when the store holds no committed checkpoint, 1 when there is no store', async () => {
    const { dir, store } = await twoCheckpoints();
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'holdfast.json'), JSON.stringify({ format: 'holdfast-store', version: '1.0', hash: 'sha256' }));
    assert.match((await expectExit(['verify', empty], 3)).stderr, /no committed checkpoints/);
    await expectExit(['verify', join(store, 'nope')], 1);
    assert.equal(existsSync(join(store, 'nope')), false);
  });
});
