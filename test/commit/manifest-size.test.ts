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
import { draftManifest, type SavePlan } from '../../src/format/save-limits.js';
import { planShards, shardEntries } from '../../src/commit/plan-shards.js';
import { sampleTensors } from '../helpers/tensors.js';
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

test('encrypted: the draft counts encryption, stored sizes and nonce prefixes exactly; incremental, it bounds the manifest from above (kept files, plaintext digests, parent)', async (t) => {
  const src = tempDir(t);
  const opaque = join(src, 'opt.bin');
  writeFileSync(opaque, Buffer.alloc(DEFAULT_CHUNK_BYTES + 1, 3));
  const store = await openStore(tempDir(t), { encryption: { key: 'an encryption secret of at least 32 bytes' }, shardSizeBytes: 1 });
  t.after(() => store.close());
  const frozen = sampleTensors(1000);
  const tensors = (seed: number) => ({ ...sampleTensors(seed), 'frozen.embed': frozen['f32.weight']! });
  const measure = async (step: number, saved: { path: string }, plan: Omit<SavePlan, 'provenance' | 'step'>): Promise<number> => {
    const written = readFileSync(join(saved.path, 'manifest.json'));
    return encodeManifest(draftManifest({ ...plan, step, provenance: currentProvenance() })).byteLength - written.byteLength;
  };
  const filesSaved = await store.commitFiles(1, [opaque]);
  const encryption = (await store.inspect(1)).encryption!;
  const shards = (seed: number) => planShards(tensors(seed), 1).map((s) => ({ fileName: s.fileName, rank: s.rank, entries: shardEntries(s) }));
  const timing = 2 * 'TIMING_MAX_MS 999999999.999'.length;
  const files = await measure(1, filesSaved, { shards: [], files: [{ name: 'opt.bin', sizeBytes: DEFAULT_CHUNK_BYTES + 1 }], state: null, encryption });
  assert.ok(files >= 0 && files <= timing, `encrypted files: draft − written = ${files} bytes`);
  const plain = await measure(2, await store.save(2, { tensors: tensors(2) }), { shards: shards(2), files: [], state: null, encryption });
  assert.ok(plain >= 0 && plain <= timing, `encrypted shards: draft − written = ${plain} bytes`);
  await store.save(3, { tensors: tensors(3) }, { incremental: true });
  const saved = await store.save(4, { tensors: tensors(4) }, { incremental: true });
  assert.ok(saved.keptBytes! > 0);
  const incremental = await measure(4, saved, { shards: shards(4), files: [], state: null, encryption, incremental: true });
  assert.ok(incremental >= 0, `encrypted incremental: draft − written = ${incremental} bytes`);
  // Without its encryption fields the draft falls short of what the save writes.
  assert.ok((await measure(4, saved, { shards: shards(4), files: [], state: null })) < 0);
});
