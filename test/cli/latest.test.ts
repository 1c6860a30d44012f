/** `holdfast latest`: rolls back past corrupt checkpoints, quarantining (never deleting) them; exit 3 when none is valid. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneErrorLine, ckptDir, commit, expectExit, expectSpawnExit, flipByte, inputs, snapshot, tempDir } from './helpers.js';

describe('holdfast latest', () => {
  it('prints the newest checkpoint when it is valid', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    await commit(store, 2, [a]);
    assert.equal((await expectExit(['latest', store], 0)).stdout, `2 ${ckptDir(store, 2)}\n`);
    assert.deepEqual(JSON.parse((await expectExit(['latest', store, '--json'], 0)).stdout), { step: 2, path: ckptDir(store, 2), skipped: [] });
  });

  it('rolls back to step 1 when step 2 is corrupt, quarantining step 2 whole and saying so on stderr', async () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a, b]);
    await commit(store, 2, [a, b]);
    flipByte(join(ckptDir(store, 2), 'b.bin'), 7);
    const corrupt = snapshot(ckptDir(store, 2));

    const r = expectSpawnExit(['latest', store, '--json'], 0); // the real binary: JSON on stdout, the note on stderr
    const json = JSON.parse(r.stdout) as { step: number; path: string; skipped: { step: number; reason: string }[] };
    assert.equal(json.step, 1);
    assert.equal(json.path, ckptDir(store, 1));
    assert.deepEqual(json.skipped.map((s) => s.step), [2]);
    assert.match(r.stderr, /checkpoint 2 failed verification \(.*b\.bin.*SHA-256 mismatch.*\); quarantined to .*\.quarantine/);

    assert.equal(existsSync(ckptDir(store, 2)), false);
    const quarantined = readdirSync(join(store, '.quarantine'));
    assert.equal(quarantined.length, 1);
    assert.match(quarantined[0]!, /^ckpt-000000000002/);
    assert.deepEqual(snapshot(join(store, '.quarantine', quarantined[0]!)), corrupt, 'quarantine keeps every byte');

    // Once quarantined, the next reader does not see it again.
    const again = await expectExit(['latest', store], 0);
    assert.equal(again.stdout, `1 ${ckptDir(store, 1)}\n`);
    assert.equal(again.stderr, '');
  });

  it('exits 3 when every checkpoint is corrupt, keeping them all in quarantine', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    await commit(store, 2, [a]);
    flipByte(join(ckptDir(store, 1), 'a.bin'));
    flipByte(join(ckptDir(store, 2), 'a.bin'));
    const r = await expectExit(['latest', store], 3);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /checkpoint 2 failed verification/);
    assert.match(lines[1]!, /checkpoint 1 failed verification/);
    assert.match(lines[2]!, /^holdfast latest: no valid checkpoint in /);
    assert.equal(readdirSync(join(store, '.quarantine')).length, 2);
    const json = JSON.parse((await expectExit(['latest', store, '--json'], 3)).stdout) as { error: { code: string }; exitCode: number };
    assert.equal(json.error.code, 'HF_NO_VALID_CHECKPOINT');
    assert.equal(json.exitCode, 3);
  });

  it('fails (exit 1) for a missing store without creating it', async () => {
    const dir = tempDir();
    const r = await expectExit(['latest', join(dir, 'nope')], 1);
    assertOneErrorLine(r, 'latest');
    assert.equal(existsSync(join(dir, 'nope')), false);
  });
});
