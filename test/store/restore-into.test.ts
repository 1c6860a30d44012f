import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { Tensor, TensorData } from '../../src/format/dtype.js';
import { isHoldfastError } from '../../src/errors.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { MemoryObjectStorage } from '../../src/storage/memory-object-storage.js';
import { ObjectMap } from '../../src/storage/object-map.js';
import { openStore } from '../../src/store/open-store.js';
import { flipBit } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';

/** Fresh arrays of the same types and lengths as `tensors`, every byte set to `fill`. */
function destinationsLike(tensors: Record<string, Tensor>, fill = 0xa5): Record<string, TensorData> {
  const into: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const Ctor = t.data.constructor as new (n: number) => TensorData;
    into[name] = new Ctor(t.data.length);
    new Uint8Array(into[name]!.buffer).fill(fill);
  }
  return into;
}

/** Large tensors at odd offsets, spread over several shards, so chunks cross tensor and shard boundaries. */
function bigTensors(seed: number): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = sampleTensors(seed);
  for (let i = 0; i < 6; i++) {
    const n = 170_001 + i * 83_333;
    const data = new Float32Array(n);
    for (let j = 0; j < n; j++) data[j] = Math.sin(seed * 7919 + i * 104729 + j);
    tensors[`layer.${i}`] = { dtype: 'F32', shape: [n], data };
    tensors[`odd.${i}`] = { dtype: 'U8', shape: [3 + i], data: Uint8Array.from({ length: 3 + i }, (_, k) => (seed + i + k) & 0xff) };
  }
  return tensors;
}

const shardsOf = (ckpt: string): string[] => readdirSync(ckpt).filter((f) => f.endsWith('.safetensors')).map((f) => join(ckpt, f));

test('restore({ into }) fills the caller arrays with the bytes the allocating restore returns, and returns those arrays', async (t) => {
  // Small read buffers force many chunks per file, each copied into the tensors it overlaps.
  const runtime = new IoRuntime({ bufferBytes: 64 * 1024, maxBuffers: 4 });
  t.after(() => runtime.close());
  const store = await openStore(tempDir(t), { shardSizeBytes: 2 * 1024 * 1024, runtime });
  const tensors = bigTensors(1);
  await store.save(1, { tensors, state: { lr: 0.1 } });
  assert.ok(shardsOf(join(store.root, 'ckpt-000000000001')).length > 1, 'the state spans several shards');

  const allocated = await store.restore();
  const into = destinationsLike(tensors);
  const r = await store.restore({ into });
  assert.equal(r.step, 1);
  assert.deepEqual(r.state, { lr: 0.1 });
  assert.deepEqual(Object.keys(r.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t0] of Object.entries(tensors)) {
    assert.equal(r.tensors[name]!.data, into[name], `${name}: the result is the caller's array`);
    assert.deepEqual(r.tensors[name]!.shape, t0.shape);
    assert.ok(bytesOf(r.tensors[name]!).equals(bytesOf(allocated.tensors[name]!)), `${name}: same bytes as the allocating restore`);
    assert.ok(bytesOf(r.tensors[name]!).equals(bytesOf(t0)), `${name}: same bytes as saved`);
  }
});

test('restore({ into }) refuses missing, extra, mis-typed and mis-sized destinations before reading, listing each', async (t) => {
  const store = await openStore(tempDir(t));
  t.after(() => store.close());
  const tensors = sampleTensors(3);
  await store.save(1, { tensors, state: null });
  const into = destinationsLike(tensors, 0x5a);
  delete into['bool'];
  into['extra'] = new Float32Array(2);
  into['f32.weight'] = new Float64Array(20);
  into['i32'] = new Int32Array(4);
  (into as Record<string, unknown>)['u8'] = [1, 2, 3];
  const before = Object.fromEntries(Object.entries(into).filter(([, d]) => ArrayBuffer.isView(d)).map(([n, d]) => [n, Buffer.from(d.buffer).toString('hex')]));
  await assert.rejects(store.restore({ into }), (e: unknown) => {
    assert.ok(isHoldfastError(e, 'HF_INCOMPATIBLE'));
    const differences = e.data['differences'] as string[];
    assert.equal(differences.length, 5, differences.join('\n'));
    for (const name of ['bool', 'extra', 'f32.weight', 'i32', 'u8']) assert.ok(differences.some((d) => d.startsWith(`${name}: `)), name);
    assert.match(e.message, /Float32Array of 20 elements \(F32 \[4, 5\]\), got a Float64Array/);
    assert.equal(e.data['intoUnverified'], undefined, 'refused before reading: the arrays are as they were');
    return true;
  });
  for (const [name, hex] of Object.entries(before)) assert.equal(Buffer.from(into[name]!.buffer).toString('hex'), hex, `${name} untouched`);
  await assert.rejects(store.restore({ into: null as never }), (e: unknown) => isHoldfastError(e, 'HF_INCOMPATIBLE'));
  // A refused restore quarantines nothing: the checkpoint is fine, the destinations are not.
  assert.deepEqual((await store.list()).map((c) => c.step), [1]);
});

test('a corrupt newest checkpoint: restore({ into }) rolls back, quarantines it, and leaves the older step in the arrays', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root, { shardSizeBytes: 512 * 1024 });
  t.after(() => store.close());
  const older = bigTensors(1);
  await store.save(1, { tensors: older, state: { step: 1 } });
  const second = await store.save(2, { tensors: bigTensors(2), state: { step: 2 } });
  const shard = shardsOf(second.path).at(-1)!;
  flipBit(shard, statSync(shard).size - 5);

  const into = destinationsLike(older);
  const r = await store.restore({ into });
  assert.equal(r.step, 1);
  assert.deepEqual(r.skipped.map((s) => s.step), [2]);
  assert.ok(!existsSync(second.path), 'the corrupt step was quarantined');
  for (const [name, t0] of Object.entries(older)) assert.ok(bytesOf({ ...t0, data: into[name]! }).equals(bytesOf(t0)), name);
});

test('restore({ step, into }) of a corrupt step rejects HF_CORRUPT (the arrays then hold unverified bytes)', async (t) => {
  const store = await openStore(tempDir(t));
  t.after(() => store.close());
  const tensors = bigTensors(4);
  const saved = await store.save(7, { tensors, state: null });
  const shard = shardsOf(saved.path)[0]!;
  flipBit(shard, statSync(shard).size - 1);
  await assert.rejects(store.restore({ step: 7, into: destinationsLike(tensors) }), (e: unknown) => {
    assert.ok(isHoldfastError(e, 'HF_CORRUPT'));
    assert.equal(e.data['intoUnverified'], true);
    assert.match(e.message, /failed verification.*the arrays given in `into` may hold unverified bytes/s);
    return true;
  });
});

test('restore({ into }) over object storage fills the arrays from the verified objects', async (t) => {
  const store = await openStore({ storage: new MemoryObjectStorage(new ObjectMap()) });
  t.after(() => store.close());
  const tensors = bigTensors(5);
  await store.save(3, { tensors, state: null });
  const into = destinationsLike(tensors);
  await store.restore({ into });
  for (const [name, t0] of Object.entries(tensors)) assert.ok(bytesOf({ ...t0, data: into[name]! }).equals(bytesOf(t0)), name);
});

test("verify: 'sizes' restores (reading the bytes without comparing hashes), allocating and in place", async (t) => {
  const store = await openStore(tempDir(t), { verify: 'sizes' });
  t.after(() => store.close());
  const tensors = sampleTensors(6);
  await store.save(1, { tensors, state: null });
  const r = await store.restore();
  const into = destinationsLike(tensors);
  await store.restore({ into });
  for (const [name, t0] of Object.entries(tensors)) {
    assert.ok(bytesOf(r.tensors[name]!).equals(bytesOf(t0)), name);
    assert.ok(bytesOf({ ...t0, data: into[name]! }).equals(bytesOf(t0)), name);
  }
});
