/** `holdfast gc`: keeps the newest <n> checkpoints, removes older ones and staging garbage, says what it removed. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ckptDir, commit, expectExit, expectSpawnExit, inputs, tempDir } from './helpers.js';

describe('holdfast gc', () => {
  it('--keep-last 1 removes older checkpoints and staging garbage', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    for (const step of [1, 2, 3]) await commit(store, step, [a]);
    mkdirSync(join(store, '.staging', '000000000004-deadbeef'), { recursive: true });
    writeFileSync(join(store, '.staging', '000000000004-deadbeef', 'a.bin'), 'half');
    mkdirSync(ckptDir(store, 9));

    const r = expectSpawnExit(['gc', store, '--keep-last', '1', '--staging-grace', '0'], 0); // the real binary
    assert.match(r.stdout, /^removed checkpoint 1$/m);
    assert.match(r.stdout, /^removed checkpoint 2$/m);
    assert.match(r.stdout, /^removed leftover .*000000000004-deadbeef$/m);
    assert.match(r.stdout, /^quarantined .*\.quarantine\/ckpt-000000000009-/m);
    assert.equal(existsSync(ckptDir(store, 1)), false);
    assert.equal(existsSync(ckptDir(store, 2)), false);
    assert.equal(existsSync(ckptDir(store, 9)), false);
    assert.ok(existsSync(join(ckptDir(store, 3), 'a.bin')));
    assert.deepEqual(readdirSync(join(store, '.staging')), []);
    assert.deepEqual(JSON.parse((await expectExit(['ls', store, '--json'], 0)).stdout).map((c: { step: number }) => c.step), [3]);

    const again = await expectExit(['gc', store, '--keep-last', '1', '--json'], 0);
    assert.deepEqual(JSON.parse(again.stdout), { removedSteps: [], removedStaging: [], quarantined: [] });
  });

  it('rejects a missing or non-positive --keep-last (exit 2) and a missing store (exit 1)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    assert.match((await expectExit(['gc', store], 2)).stderr, /missing required option --keep-last/);
    assert.match((await expectExit(['gc', store, '--keep-last', '0'], 2)).stderr, /--keep-last must be an integer >= 1, got "0"/);
    assert.match((await expectExit(['gc', store, '--keep-last', '-2'], 2)).stderr, /--keep-last must be an integer >= 1/);
    await expectExit(['gc', join(dir, 'nope'), '--keep-last', '1'], 1);
    assert.equal(existsSync(join(dir, 'nope')), false);
    assert.ok(existsSync(ckptDir(store, 1)));
  });
});
