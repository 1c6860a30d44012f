/**
 * Asynchronous save: the snapshot isolates the saved bytes from the caller's
 * later changes, at most one save is in flight (wait or HF_BUSY), a failure in
 * the background rejects `committed` and frees the slot, and a process killed
 * at any instant of a background save leaves either the previous checkpoint
 * or the new one, bit-exact, never a mix.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import type { Tensor } from '../../src/format/dtype.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { processKillState } from '../../src/fs/crash-model.js';
import { RecordingFileSystem } from '../../src/fs/recording-file-system.js';
import { startAsyncSave } from '../../src/io/snapshot-then-save.js';
import { InFlightLimiter } from '../../src/io/in-flight-limiter.js';
import { snapshotSaveInput } from '../../src/io/snapshot.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';
import { bytes } from './io-fixtures.js';

const MiB = 1024 * 1024;

function bigTensors(seed: number): Record<string, Tensor> {
  const f32 = new Float32Array(bytes(2 * MiB + 12, seed).buffer);
  return {
    ...sampleTensors(seed),
    'big.weight': { dtype: 'F32', shape: [f32.length], data: f32 },
    'ragged.u8': { dtype: 'U8', shape: [4097], data: bytes(4097, seed + 1) },
  };
}

function copyOf(tensors: Record<string, Tensor>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Buffer.from(bytesOf(t))]));
}

function scribble(tensors: Record<string, Tensor>): void {
  for (const t of Object.values(tensors)) new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).fill(0xee);
}

test('a snapshot is a copy: changing the caller\'s tensors afterwards changes nothing staged', () => {
  const runtime = new IoRuntime();
  const staging = runtime.staging;
  const tensors = bigTensors(1);
  const before = copyOf(tensors);
  const snap = snapshotSaveInput({ tensors, state: { step: 3, nested: { a: [1, 2] } } }, { runtime });
  scribble(tensors);
  for (const [name, b] of Object.entries(before)) {
    const t = snap.input.tensors![name]!;
    assert.ok(bytesOf(t).equals(b), name);
    assert.equal(t.dtype, tensors[name]!.dtype);
    assert.deepEqual(t.shape, tensors[name]!.shape);
  }
  assert.deepEqual(snap.input.state, { step: 3, nested: { a: [1, 2] } });
  snap.release();
  assert.ok(staging.retainedBytes > 0, 'staging memory is kept for the next snapshot');
});

test('reserve() allocates the staging region up front, and the next snapshot of that size reuses it', () => {
  const runtime = new IoRuntime();
  const staging = runtime.staging;
  const tensors = bigTensors(8);
  const stateBytes = Object.values(tensors).reduce((n, t) => n + t.data.byteLength, 0);
  staging.reserve(stateBytes);
  const held = staging.retainedBytes;
  assert.ok(held >= stateBytes);
  // Every tensor in its own group: the most padding a snapshot of these tensors can add.
  const snap = snapshotSaveInput({ tensors }, { runtime, fileGroups: Object.keys(tensors).map((k) => [k]) });
  assert.equal(staging.retainedBytes, 0, 'the reserved region was lent out, not a new one allocated');
  snap.release();
  assert.equal(staging.retainedBytes, held);
});

test('saveAsync: snapshotted resolves before committed; mutating after snapshotted does not change the saved checkpoint', async (t) => {
  const store = await openStore(join(tempDir(t), 'store'), { shardSizeBytes: MiB });
  const tensors = bigTensors(2);
  const before = copyOf(tensors);
  const { snapshotted, committed } = store.saveAsync(7, { tensors, state: { lr: 0.1 } });
  let committedFirst = false;
  void committed.then(() => (committedFirst = true));
  await snapshotted;
  assert.equal(committedFirst, false);
  scribble(tensors);
  const result = await committed;
  assert.equal(result.step, 7);
  const restored = await store.restore(7);
  for (const [name, b] of Object.entries(before)) assert.ok(bytesOf(restored.tensors[name]!).equals(b), name);
  assert.deepEqual(restored.state, { lr: 0.1 });
});

test('one save in flight: a second one waits by default, or is refused with HF_BUSY', async (t) => {
  const store = await openStore(join(tempDir(t), 'store'));
  const first = store.saveAsync(1, { tensors: bigTensors(3) });
  await assert.rejects(store.saveAsync(2, { tensors: bigTensors(4) }, { ifBusy: 'refuse' }).snapshotted, (e) => isHoldfastError(e, 'HF_BUSY'));
  const waiting = store.saveAsync(3, { tensors: bigTensors(5) });
  await first.committed;
  await waiting.snapshotted;
  await waiting.committed;
  assert.deepEqual((await store.list()).map((c) => c.step), [1, 3]);
});

test('a failure in the background rejects committed, frees the slot and the staging memory', async () => {
  const limiter = new InFlightLimiter();
  const runtime = new IoRuntime();
  const staging = runtime.staging;
  const boom = new Error('disk on fire');
  const a = startAsyncSave({ tensors: bigTensors(6) }, async () => Promise.reject(boom), { limiter, runtime });
  await a.snapshotted;
  await assert.rejects(a.committed, (e) => e === boom);
  assert.equal(limiter.inFlight, 0);
  assert.equal(staging.retainedBytes > 0, true);
  const b = startAsyncSave({ tensors: bigTensors(7) }, async (input) => Object.keys(input.tensors!).length, { limiter, runtime, ifBusy: 'refuse' });
  assert.equal(await b.committed, Object.keys(bigTensors(7)).length);
});

test('invalid input fails the snapshot, rejects both promises and takes no slot', async () => {
  const limiter = new InFlightLimiter();
  const bad = { tensors: { x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } as Tensor } };
  const s = startAsyncSave(bad, async () => 1, { limiter, runtime: new IoRuntime({ hashWorkers: 0 }) });
  await assert.rejects(s.snapshotted, (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
  await assert.rejects(s.committed, (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
  assert.equal(limiter.inFlight, 0);
});

test('a process killed at any instant of a background save leaves the old checkpoint or the new one, bit-exact', async () => {
  const memory = new MemoryFileSystem();
  await memory.mkdir('/s');
  const base = await openStore('/s', { fs: memory, shardSizeBytes: MiB });
  const old = bigTensors(8);
  await base.save(1, { tensors: old });
  const oldBytes = copyOf(old);
  const initial = memory.snapshot();

  const recording = new RecordingFileSystem(memory);
  const store = await openStore('/s', { fs: recording, shardSizeBytes: MiB });
  const next = bigTensors(9);
  const nextBytes = copyOf(next);
  const { snapshotted, committed } = store.saveAsync(2, { tensors: next });
  await snapshotted;
  scribble(next); // the training loop moves on while the save runs
  await committed;
  const log = recording.log;
  assert.ok(log.some((op) => op.kind === 'pwrite'));

  const seen = new Set<number>();
  for (let k = 0; k <= log.length; k++) {
    for (const inFlightPages of [0, 1]) {
      const crashed = processKillState(initial, log, k, inFlightPages);
      const after = await openStore('/s', { fs: crashed, shardSizeBytes: MiB });
      const r = await after.restore();
      seen.add(r.step);
      const want = r.step === 2 ? nextBytes : oldBytes;
      assert.ok(r.step === 1 || r.step === 2, `crash at op ${k}: step ${r.step}`);
      for (const [name, b] of Object.entries(want)) assert.ok(bytesOf(r.tensors[name]!).equals(b), `crash at op ${k}, step ${r.step}, ${name}`);
    }
  }
  assert.deepEqual([...seen].sort(), [1, 2], 'both outcomes occur across the crash points');
});
