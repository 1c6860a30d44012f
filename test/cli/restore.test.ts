/** `holdfast restore`: copies verified files out; refuses a corrupt checkpoint; never overwrites. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneErrorLine, ckptDir, commit, expectExit, expectSpawnExit, flipByte, inputs, tempDir } from './helpers.js';

describe('holdfast restore', () => {
  it('refuses (exit 1) a checkpoint that fails verification, writing nothing', async () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a, b]);
    flipByte(join(ckptDir(store, 1), 'b.bin'), 299_999);
    const out = join(dir, 'out');
    const r = expectSpawnExit(['restore', store, '--step', '1', '--to', out], 1); // the real binary
    assertOneErrorLine(r, 'restore');
    assert.match(r.stderr, /checkpoint 1 failed verification: .*b\.bin: chunk 0 \(bytes 0\.\.300000\) SHA-256 mismatch/);
    assert.equal(existsSync(out), false);
    assert.ok(existsSync(ckptDir(store, 1)), 'an explicit --step is refused, not quarantined');
  });

  it('without --step restores the newest valid checkpoint, rolling back past a corrupt one', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    writeFileSync(a, 'version two\n');
    await commit(store, 2, [a]);
    flipByte(join(ckptDir(store, 2), 'a.bin'));
    const out = join(dir, 'out');
    const r = await expectExit(['restore', store, '--to', out, '--json'], 0);
    assert.deepEqual(JSON.parse(r.stdout), { step: 1, files: [join(out, 'a.bin')] });
    assert.match(r.stderr, /checkpoint 2 failed verification .*quarantined/);
    assert.equal(readFileSync(join(out, 'a.bin'), 'utf8'), 'optimizer state v1\n');
  });

  it('does not overwrite an existing file in the destination (exit 1)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'a.bin'), 'mine');
    assertOneErrorLine(await expectExit(['restore', store, '--step', '1', '--to', out], 1), 'restore');
    assert.equal(readFileSync(join(out, 'a.bin'), 'utf8'), 'mine');
  });

  it('rejects a missing --to (exit 2), an unknown step (exit 1) and a missing store (exit 1)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    assert.match((await expectExit(['restore', store, '--step', '1'], 2)).stderr, /missing required option --to/);
    assert.match((await expectExit(['restore', store, '--step', '4', '--to', join(dir, 'o')], 1)).stderr, /no committed checkpoint for step 4/);
    assert.match((await expectExit(['restore', join(dir, 'nope'), '--to', join(dir, 'o')], 1)).stderr, /no store at/);
    assert.equal(existsSync(join(dir, 'o')), false);
  });
});
