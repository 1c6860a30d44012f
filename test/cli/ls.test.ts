/** `holdfast ls`: lists committed checkpoints only, never creates a store. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneErrorLine, ckptDir, commit, expectExit, expectSpawnExit, inputs, tempDir } from './helpers.js';

describe('holdfast ls', () => {
  it('lists committed checkpoints, not staging leftovers, quarantined or manifest-less ones', async () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    await commit(store, 2, [a, b]);
    mkdirSync(join(store, '.staging', 'xyz'), { recursive: true });
    mkdirSync(join(store, '.staging', '000000000007-abc'), { recursive: true });
    cpSync(ckptDir(store, 1), join(store, '.quarantine', 'ckpt-000000000009'), { recursive: true });
    mkdirSync(ckptDir(store, 8));
    writeFileSync(join(ckptDir(store, 8), 'a.bin'), 'partial');

    const r = await expectExit(['ls', store], 0);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /STEP\s+SIZE\s+FILES\s+CREATED/);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /^\s*1\s+19 B\s+1\s+\d{4}-/);
    assert.match(lines[2]!, /^\s*2\s+293\.0 KiB\s+2\s+\d{4}-/);

    const json = JSON.parse(expectSpawnExit(['ls', store, '--json'], 0).stdout) as { step: number; bytes: number; files: number; createdAt: string; path: string }[];
    assert.deepEqual(json.map((c) => c.step), [1, 2]);
    assert.equal(json[1]!.bytes, 300_019);
    assert.equal(json[1]!.files, 2);
    assert.equal(json[1]!.path, ckptDir(store, 2));
    assert.ok(!Number.isNaN(Date.parse(json[0]!.createdAt)));
  });

  it('says so on stderr for a store without checkpoints (exit 0), and prints [] with --json', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    await commit(join(dir, 's'), 1, [a]);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    cpSync(join(dir, 's', 'holdfast.json'), join(empty, 'holdfast.json'));
    const r = await expectExit(['ls', empty], 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no committed checkpoints in/);
    assert.deepEqual(JSON.parse((await expectExit(['ls', empty, '--json'], 0)).stdout), []);
  });

  it('fails with "no store at" (exit 1) for a missing store and does not create it', async () => {
    const dir = tempDir();
    const store = join(dir, 'missing');
    const r = await expectExit(['ls', store], 1);
    assertOneErrorLine(r, 'ls');
    assert.match(r.stderr, new RegExp(`no store at ${store}`));
    assert.equal(existsSync(store), false);
  });

  it('treats a directory without holdfast.json as no store and writes nothing into it', async () => {
    const dir = tempDir();
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    const r = await expectExit(['ls', plain], 1);
    assert.match(r.stderr, /no store at .*without holdfast\.json/);
    assert.deepEqual(readdirSync(plain), []);
  });

  it('rejects a store path that is a file, an unknown flag and an extra argument (exit 2)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    assertOneErrorLine(await expectExit(['ls', a], 2), 'ls');
    const unknown = await expectExit(['ls', dir, '--bogus'], 2);
    assertOneErrorLine(unknown, 'ls');
    assert.match(unknown.stderr, /unknown option --bogus/);
    assert.match((await expectExit(['ls', dir, 'extra'], 2)).stderr, /unexpected argument "extra"/);
    assert.match((await expectExit(['ls'], 2)).stderr, /missing <store> argument/);
  });
});
