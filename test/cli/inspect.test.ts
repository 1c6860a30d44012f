/** `holdfast inspect`: shows a checkpoint's files, tensors, state keys and provenance from its manifest. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ckptDir, commit, expectExit, expectSpawnExit, inputs, tempDir } from './helpers.js';

describe('holdfast inspect', () => {
  it('shows the files with size, hash and kind (JSON and text)', async () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 3, [a, b]);
    const json = JSON.parse((await expectExit(['inspect', store, '--step', '3', '--json'], 0)).stdout) as {
      step: number;
      files: { path: string; size: number; hash: string; kind: string }[];
      tensors: unknown[];
      stateKeys: string[];
      provenance: { library: string };
    };
    assert.equal(json.step, 3);
    const sha = (p: string): string => 'sha256:' + createHash('sha256').update(readFileSync(p)).digest('hex');
    assert.deepEqual(
      json.files.map((f) => ({ path: f.path, size: f.size, hash: f.hash, kind: f.kind })),
      [
        { path: 'a.bin', size: 19, hash: sha(a), kind: 'file' },
        { path: 'b.bin', size: 300_000, hash: sha(b), kind: 'file' },
      ],
    );
    assert.deepEqual(json.tensors, []);
    assert.deepEqual(json.stateKeys, []);
    assert.match(json.provenance.library, /^holdfast /);

    const text = expectSpawnExit(['inspect', store, '--step', '3'], 0).stdout; // the real binary
    assert.match(text, /^checkpoint 3 /m);
    assert.match(text, /b\.bin\s+293\.0 KiB\s+file\s+sha256:/);
    assert.match(text, /^provenance: holdfast /m);
  });

  it('needs --step (exit 2); an unknown step or an unreadable manifest is a failure (exit 1)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    assert.match((await expectExit(['inspect', store], 2)).stderr, /missing required option --step/);
    assert.match((await expectExit(['inspect', store, '--step', '2'], 1)).stderr, /no committed checkpoint for step 2/);
    writeFileSync(join(ckptDir(store, 1), 'manifest.json'), 'not json');
    const r = await expectExit(['inspect', store, '--step', '1', '--json'], 1);
    assert.equal(JSON.parse(r.stdout).error.code, 'HF_CORRUPT');
  });
});
