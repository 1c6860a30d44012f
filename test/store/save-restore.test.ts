import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';

test('every dtype, empty and scalar tensors round-trip bit-exactly with the JSON state', async (t) => {
  const store = await openStore(join(tempDir(t), 'store'));
  const tensors = sampleTensors();
  const state = { optimizer: { step: 7, lr: 0.001 }, rng: ['123', '456'], data: { epoch: 1, index: 42 } };
  const saved = await store.save(5, { tensors, state });
  assert.equal(saved.step, 5);
  assert.equal(saved.durability, 'atomic_dirsync');
  const restored = await store.restore();
  assert.equal(restored.step, 5);
  assert.deepEqual(restored.state, state);
  assert.deepEqual(Object.keys(restored.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t0] of Object.entries(tensors)) {
    const r = restored.tensors[name]!;
    assert.equal(r.dtype, t0.dtype, name);
    assert.deepEqual(r.shape, t0.shape, name);
    assert.equal(r.data.constructor, t0.data.constructor, name);
    assert.ok(bytesOf(r).equals(bytesOf(t0)), `bytes of ${name}`);
  }
});

test('tensors spread over several shard files when they exceed the shard size', async (t) => {
  const store = await openStore(join(tempDir(t), 's'), { shardSizeBytes: 64 });
  const tensors = sampleTensors(3);
  await store.save(1, { tensors });
  const manifest = await store.inspect(1);
  assert.ok(manifest.files.length > 1, `expected several shards, got ${manifest.files.length}`);
  const restored = await store.restore(1);
  for (const [name, t0] of Object.entries(tensors)) assert.ok(bytesOf(restored.tensors[name]!).equals(bytesOf(t0)), name);
});

test('restore without a step returns the newest; with a step returns that one', async (t) => {
  const store = await openStore(tempDir(t));
  for (const step of [10, 20, 30]) await store.save(step, { state: { step } });
  assert.equal((await store.restore()).step, 30);
  assert.deepEqual((await store.restore(20)).state, { step: 20 });
  assert.deepEqual((await store.list()).map((c) => c.step), [10, 20, 30]);
  assert.equal((await store.latest())?.step, 30);
});

test('a committed step is never overwritten: saving it again fails and the first stays intact', async (t) => {
  const store = await openStore(tempDir(t));
  await store.save(3, { state: { v: 'first' } });
  await assert.rejects(store.save(3, { state: { v: 'second' } }), (e) => isHoldfastError(e, 'HF_STEP_EXISTS'));
  assert.deepEqual((await store.restore(3)).state, { v: 'first' });
});

test('commitFiles puts opaque files into a checkpoint, hashed and verified like shards', async (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'model.pt');
  const b = join(dir, 'optim.bin');
  writeFileSync(a, Buffer.from('pretend torch pickle bytes'));
  writeFileSync(b, Buffer.alloc(10_000, 7));
  const store = await openStore(join(dir, 'store'));
  const res = await store.commitFiles(9, [a, b]);
  assert.equal(res.files, 2);
  assert.equal((await store.verify(9))[0]!.ok, true);
  const out = join(dir, 'out');
  const copied = await store.restoreFiles(9, out);
  assert.equal(copied.step, 9);
  assert.ok(readFileSync(join(out, 'model.pt')).equals(readFileSync(a)));
  assert.ok(readFileSync(join(out, 'optim.bin')).equals(readFileSync(b)));
  const sums = readFileSync(join(res.path, 'SHA256SUMS'), 'utf8');
  assert.match(sums, /^[0-9a-f]{64} {2}model\.pt$/m);
});

test('restored tensors are views of the read buffer, aligned for their typed array (no per-tensor copy)', async (t) => {
  const store = await openStore(tempDir(t));
  await store.save(1, { tensors: sampleTensors() });
  const { tensors } = await store.restore();
  const buffers = new Set(Object.values(tensors).map((x) => x.data.buffer));
  assert.equal(buffers.size, 1, 'every tensor shares the shard buffer');
});

test('store.saveAsync: the caller may change its tensors once snapshotted; the checkpoint holds the snapshot', async (t) => {
  const store = await openStore(tempDir(t));
  const tensors = sampleTensors(5);
  const before = Buffer.from(bytesOf(tensors['f32.weight']!)); // a copy, not a view
  const handle = store.saveAsync(4, { tensors, state: { step: 4 } });
  await handle.snapshotted;
  (tensors['f32.weight']!.data as Float32Array).fill(42);
  const result = await handle.committed;
  assert.equal(result.step, 4);
  const restored = await store.restore(4);
  assert.ok(bytesOf(restored.tensors['f32.weight']!).equals(before));
});

test('a manifest-less ckpt directory (an interrupted unsafe save) does not block saving that step again', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  mkdirSync(join(root, 'ckpt-000000000006'));
  writeFileSync(join(root, 'ckpt-000000000006', 'r0000-p000.safetensors'), 'torn');
  await store.save(6, { state: { ok: true } });
  assert.deepEqual((await store.restore(6)).state, { ok: true });
  // Moved to quarantine with its bytes, never deleted: it may have been a checkpoint that lost only its manifest.
  const moved = readdirSync(join(root, '.quarantine'));
  assert.equal(moved.length, 1);
  assert.match(moved[0]!, /^ckpt-000000000006-incomplete-[0-9a-f]{32}$/);
  assert.equal(readFileSync(join(root, '.quarantine', moved[0]!, 'r0000-p000.safetensors'), 'utf8'), 'torn');
});
