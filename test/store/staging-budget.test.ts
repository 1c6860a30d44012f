/**
 * `saveAsync` within `stagingBudgetBytes`: the snapshot copies whole shard
 * files while they fit the budget and never more; the rest is written first,
 * straight from the caller's arrays, and `snapshotted` waits for it, so a
 * caller that changes its tensors the moment `snapshotted` resolves still
 * gets a checkpoint of the bytes it passed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import type { Tensor } from '../../src/format/dtype.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { RecordingFileSystem } from '../../src/fs/recording-file-system.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { snapshotSaveInput } from '../../src/io/snapshot.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf } from '../helpers/tensors.js';
import { bytes } from '../io/io-fixtures.js';

const MiB = 1024 * 1024;

/** Six 1 MiB tensors (one shard file each at a 1 MiB shard size) and a small one. */
function state(seed: number): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (let i = 0; i < 6; i++) tensors[`w${i}`] = { dtype: 'F32', shape: [MiB / 4], data: new Float32Array(bytes(MiB, seed + i).buffer) };
  tensors['bias'] = { dtype: 'U8', shape: [100], data: bytes(100, seed + 9) };
  return tensors;
}

function copyOf(tensors: Record<string, Tensor>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Buffer.from(bytesOf(t))]));
}

function scribble(tensors: Record<string, Tensor>): void {
  for (const t of Object.values(tensors)) new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).fill(0xee);
}

test('a budgeted snapshot stages whole groups up to the budget, never more, and hands the rest on uncopied', () => {
  const runtime = new IoRuntime({ hashWorkers: 0 });
  const tensors = state(1);
  const groups = [['w0'], ['w1'], ['w2', 'bias'], ['w3'], ['w4'], ['w5']];
  // 2.5 MiB: w0 and w1 fit (2 MiB); w2 + bias would pass it; w3 … w5 do not fit either.
  const snap = snapshotSaveInput({ tensors }, { runtime, fileGroups: groups, budgetBytes: 2.5 * MiB });
  assert.equal(snap.bytes, 2 * MiB);
  assert.deepEqual([...snap.deferred].sort(), ['bias', 'w2', 'w3', 'w4', 'w5']);
  assert.equal(snap.deferredBytes, 4 * MiB + 100);
  for (const name of snap.deferred) assert.equal(snap.input.tensors![name], tensors[name], `${name} is the caller's own tensor`);
  assert.notEqual(snap.input.tensors!['w0']!.data.buffer, tensors['w0']!.data.buffer);
  assert.deepEqual(Object.keys(snap.input.tensors!), groups.flat(), 'the save plans the same files from it');
  snap.release();
  assert.ok(runtime.staging.retainedBytes <= 2.5 * MiB + 64 * 1024, `staging holds ${runtime.staging.retainedBytes} bytes`);

  const none = snapshotSaveInput({ tensors }, { runtime, fileGroups: groups, budgetBytes: 0 });
  assert.equal(none.bytes, 0);
  assert.equal(none.deferred.size, 7);
  none.release();
});

test('within a budget, staging keeps no region beside the one in use that is larger than the budget or too small', () => {
  const runtime = new IoRuntime({ hashWorkers: 0 });
  const tensors = state(11);
  const groups = [['w0'], ['w1'], ['w2'], ['w3'], ['w4'], ['w5'], ['bias']];
  // An unbudgeted snapshot and a smaller budgeted one leave regions of 6 MiB+ and 1 MiB.
  snapshotSaveInput({ tensors }, { runtime, fileGroups: groups }).release();
  snapshotSaveInput({ tensors }, { runtime, fileGroups: groups, budgetBytes: MiB }).release();
  assert.ok(runtime.staging.retainedBytes <= MiB + 64 * 1024, `after a 1 MiB budget staging holds ${runtime.staging.retainedBytes} bytes`);
  // A larger budget next: the 1 MiB region is too small and is let go, not kept beside the new one.
  snapshotSaveInput({ tensors }, { runtime, fileGroups: groups, budgetBytes: 3 * MiB }).release();
  assert.ok(runtime.staging.retainedBytes <= 3 * MiB + 64 * 1024, `after a 3 MiB budget staging holds ${runtime.staging.retainedBytes} bytes`);
});

test('saveAsync within a budget: files over it are written first, snapshotted waits for them, and the checkpoint holds the bytes passed', async () => {
  const memory = new MemoryFileSystem();
  await memory.mkdir('/s');
  const recording = new RecordingFileSystem(memory);
  const store = await openStore('/s', { fs: recording, shardSizeBytes: MiB, stagingBudgetBytes: 2 * MiB });
  const tensors = state(2);
  const before = copyOf(tensors);
  let info = { bytes: -1, copyMs: -1, deferredBytes: -1 };
  const h = store.saveAsync(4, { tensors, state: { lr: 0.5 } }, { onSnapshot: (s) => (info = s) });
  await h.snapshotted;
  // The loop moves on at once: anything still read from its arrays after this would be saved scribbled.
  scribble(tensors);
  await h.committed;
  assert.deepEqual({ bytes: info.bytes, deferredBytes: info.deferredBytes }, { bytes: 2 * MiB, deferredBytes: 4 * MiB + 100 });
  const restored = await store.restore(4);
  for (const [name, b] of Object.entries(before)) assert.ok(bytesOf(restored.tensors[name]!).equals(b), name);
  assert.deepEqual(restored.state, { lr: 0.5 });

  // Every file holding a deferred tensor was created before every file of staged ones.
  const fileOf = (name: string): string => restored.manifest.tensors[name]!.slabs[0]!.file;
  const created = recording.log.flatMap((op) => (op.kind === 'create' ? [op.path.split('/').pop()!] : []));
  const stagedFiles = new Set(['w0', 'w1'].map(fileOf));
  const firstStaged = Math.min(...[...stagedFiles].map((f) => created.indexOf(f)));
  for (const name of ['w2', 'w3', 'w4', 'w5', 'bias']) assert.ok(created.indexOf(fileOf(name)) < firstStaged, `${name}'s file was written before the staged ones`);
});

test('a per-call budget overrides the store\'s; a budget of the whole state or more stages everything', async (t) => {
  const store = await openStore(join(tempDir(t), 'store'), { shardSizeBytes: MiB, stagingBudgetBytes: 0 });
  const seen: number[] = [];
  const all = store.saveAsync(1, { tensors: state(3) }, { stagingBudgetBytes: 64 * MiB, onSnapshot: (s) => seen.push(s.deferredBytes) });
  let committedFirst = false;
  void all.committed.then(() => (committedFirst = true));
  await all.snapshotted;
  assert.equal(committedFirst, false, 'nothing deferred: snapshotted settles with the copy, as without a budget');
  await all.committed;
  const zero = store.saveAsync(2, { tensors: state(4) }, { onSnapshot: (s) => seen.push(s.deferredBytes) });
  await zero.snapshotted;
  await zero.committed;
  assert.deepEqual(seen, [0, 6 * MiB + 100]);
});

test('a budget that is not a whole number of bytes is refused through both promises', async (t) => {
  const store = await openStore(join(tempDir(t), 'store'));
  for (const bad of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
    const h = store.saveAsync(1, { tensors: state(5) }, { stagingBudgetBytes: bad });
    await assert.rejects(h.snapshotted, (e) => isHoldfastError(e, 'HF_INVALID_ARG') && /stagingBudgetBytes/.test(e.message));
    await assert.rejects(h.committed, (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
  }
  assert.deepEqual(await store.list(), []);
});

test('a budgeted save that fails resolves snapshotted (nothing reads the tensors any more) and rejects committed', async (t) => {
  const store = await openStore(join(tempDir(t), 'store'), { shardSizeBytes: MiB });
  await store.save(1, { tensors: state(6) });
  const h = store.saveAsync(1, { tensors: state(7) }, { stagingBudgetBytes: 0 });
  await h.snapshotted;
  await assert.rejects(h.committed, (e) => isHoldfastError(e, 'HF_STEP_EXISTS'));
  // The slot is free again.
  const next = store.saveAsync(2, { tensors: state(8) }, { stagingBudgetBytes: 0, ifBusy: 'refuse' });
  await next.committed;
});
