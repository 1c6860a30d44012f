/**
 * The save-limit check measures a draft of the manifest (save-limits.ts); it is exact only if the
 * draft has the length the commit then writes, chunk digest lists included.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { currentProvenance } from '../../src/commit/provenance.js';
import { encodeManifest } from '../../src/format/manifest.js';
import { DEFAULT_CHUNK_BYTES } from '../../src/format/manifest-types.js';
import { draftManifest } from '../../src/format/save-limits.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';

test('the draft manifest of a save is as long as the manifest it commits (but for the timing digits), one chunk digest per 8 MiB included', async (t) => {
  const src = tempDir(t);
  const sizes = [0, 1, DEFAULT_CHUNK_BYTES, 2 * DEFAULT_CHUNK_BYTES + 1];
  const paths = sizes.map((n, i) => {
    const p = join(src, `f${i}.bin`);
    writeFileSync(p, Buffer.alloc(n, i + 1));
    return p;
  });
  const store = await openStore(tempDir(t));
  const saved = await store.commitFiles(12, paths);
  const written = readFileSync(join(saved.path, 'manifest.json'));
  const draft = draftManifest({
    step: 12,
    shards: [],
    files: paths.map((p, i) => ({ name: `f${i}.bin`, sizeBytes: statSync(p).size })),
    state: null,
    provenance: currentProvenance(),
  });
  assert.deepEqual(draft.files.map((f) => f.chunks!.sha256.length), [0, 1, 1, 3]);
  // Exact but for the save's timing, which the draft writes at its longest.
  const slack = encodeManifest(draft).byteLength - written.byteLength;
  assert.ok(slack >= 0 && slack <= 2 * 'TIMING_MAX_MS 999999999.999'.length, `draft − written = ${slack} bytes`);
});
