/** `holdfast commit`: creates a checkpoint whose files round-trip, never overwrites a step, refuses bad input with exit 2. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneErrorLine, ckptDir, commit, expectExit, expectSpawnExit, inputs, snapshot, tempDir } from './helpers.js';

describe('holdfast commit', () => {
  it('commits files as a checkpoint whose bytes round-trip through restore --to', async () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 'store', 'nested');
    const printed = expectSpawnExit(['commit', store, '--step', '5', a, b], 0).stdout.trim(); // the real binary
    assert.equal(printed, ckptDir(store, 5));
    assert.ok(existsSync(join(printed, 'manifest.json')));
    const out = join(dir, 'out');
    const r = await expectExit(['restore', store, '--step', '5', '--to', out], 0);
    assert.deepEqual(r.stdout.trim().split('\n'), [join(out, 'a.bin'), join(out, 'b.bin')]);
    assert.deepEqual(readFileSync(join(out, 'a.bin')), readFileSync(a));
    assert.deepEqual(readFileSync(join(out, 'b.bin')), readFileSync(b));
  });

  it('accepts every durability mode and prints JSON with --json', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    for (const [step, mode] of ['unsafe', 'atomic_nodirsync', 'atomic_dirsync'].entries()) {
      const r = await expectExit(['commit', store, '--step', String(step), '--mode', mode, '--json', a], 0);
      const json = JSON.parse(r.stdout) as { step: number; path: string; durability: string; files: number };
      assert.equal(json.step, step);
      assert.equal(json.durability, mode);
      assert.equal(json.path, ckptDir(store, step));
      assert.equal(json.files, 1);
    }
  });

  it('refuses to commit the same step twice (exit 1) and leaves the first checkpoint unchanged', async () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    const before = snapshot(ckptDir(store, 1));
    writeFileSync(a, 'different bytes\n');
    const r = await expectExit(['commit', store, '--step', '1', a, b], 1);
    assertOneErrorLine(r, 'commit');
    assert.match(r.stderr, /step 1 already exists/);
    assert.deepEqual(snapshot(ckptDir(store, 1)), before);
  });

  it('rejects a step that is negative, not a number or fractional (exit 2)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    for (const step of ['-1', 'abc', '1.5', '', '1e3', '99999999999999999999']) {
      const r = await expectExit(['commit', join(dir, 's'), '--step', step, a], 2);
      assertOneErrorLine(r, 'commit');
      assert.match(r.stderr, /--step must be a non-negative integer/);
    }
    assert.equal(existsSync(join(dir, 's')), false, 'a refused commit must not create the store');
  });

  it('rejects a missing --step, an unknown --mode, no files and a missing file (exit 2) without creating the store', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    assert.match((await expectExit(['commit', store, a], 2)).stderr, /missing required option --step/);
    assert.match((await expectExit(['commit', store, '--step', '1', '--mode', 'fast', a], 2)).stderr, /--mode must be one of unsafe, atomic_nodirsync, atomic_dirsync/);
    assert.match((await expectExit(['commit', store, '--step', '1'], 2)).stderr, /missing <file> argument/);
    assert.match((await expectExit(['commit', store, '--step', '1', join(dir, 'nope.bin')], 2)).stderr, /nope\.bin is missing/);
    assert.match((await expectExit(['commit', store, '--step', '1', '--step', '2', a], 2)).stderr, /--step is given more than once/);
    assert.equal(existsSync(store), false);
  });

  it('rejects a store path that is a file (exit 2)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const r = await expectExit(['commit', a, '--step', '1', a], 2);
    assertOneErrorLine(r, 'commit');
    assert.match(r.stderr, /is a regular file, expected a directory/);
  });

  // Before: "…/pipe is a other, expected a regular file".
  it('names a FIFO given as a file as a special file, not "a other" (exit 2)', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const r = await expectExit(['commit', join(dir, 's'), '--step', '1', fifo], 2);
    assertOneErrorLine(r, 'commit');
    assert.match(r.stderr, /pipe is a special file \(a FIFO, socket or device\), expected a regular file/);
  });
});
