// Guarantees on failure paths (issue 9): each test is one defect an outside audit found, reproduced.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { FaultyFileSystem } from '../../src/fs/faulty-file-system.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';

async function memoryStore(durability: 'unsafe' | 'atomic_nodirsync' | 'atomic_dirsync' = 'atomic_dirsync') {
  const memory = new MemoryFileSystem();
  await memory.mkdir('/data');
  const faulty = new FaultyFileSystem(memory);
  const store = await openStore('/data/store', { fs: faulty, durability });
  return { memory, faulty, store };
}

test('a failed saveAsync reaches the caller through committed only, whenever it is awaited (no unhandled rejection)', async () => {
  const { store } = await memoryStore();
  await store.save(1, { state: { n: 1 } });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const handle = store.saveAsync(1, { tensors: sampleTensors() }); // step 1 exists: the background save fails
    await handle.snapshotted;
    await new Promise((r) => setTimeout(r, 50)); // "keep training" while the failure happens
    await assert.rejects(handle.committed, (e: unknown) => isHoldfastError(e, 'HF_STEP_EXISTS'));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
});

test('rollback on a store that cannot be written reports the bad checkpoint, moves nothing and still returns the older one', async () => {
  const { memory, faulty, store } = await memoryStore();
  await store.save(1, { tensors: sampleTensors(1) });
  await store.save(2, { tensors: sampleTensors(2) });
  const shard = '/data/store/ckpt-000000000002/r0000-p000.safetensors';
  const fh = await memory.open(shard, 'write');
  await fh.pwrite(new Uint8Array([0xff, 0xff]), 4200);
  await fh.close();
  faulty.addRule({ on: 'mutating', fault: { type: 'error', errno: 'EROFS' }, persistent: true });
  const events: string[] = [];
  const ro = await openStore('/data/store', { fs: faulty, create: false, onEvent: (e) => e.type === 'quarantined' && events.push(e.movedTo) });
  const restored = await ro.restore();
  assert.equal(restored.step, 1);
  assert.deepEqual(bytesOf(restored.tensors['f32.weight']!), bytesOf(sampleTensors(1)['f32.weight']!));
  assert.equal(restored.skipped[0]?.step, 2);
  assert.match(events[0]!, /not moved: left in place: the store cannot be written \(EROFS\)/);
  assert.deepEqual(await memory.readdir('/data/store/ckpt-000000000002'), ['SHA256SUMS', 'manifest.json', 'r0000-p000.safetensors']);
  assert.equal((await ro.latest())?.step, 1);
});

test('two readers rolling back at once both land on the older checkpoint; the bad one is quarantined once', async (t) => {
  const root = join(tempDir(t), 'store');
  const store = await openStore(root);
  await store.save(1, { tensors: sampleTensors(1) });
  await store.save(2, { tensors: sampleTensors(2) });
  writeFileSync(join(root, 'ckpt-000000000002', 'SHA256SUMS'), 'damaged\n');
  const readers = await Promise.all(Array.from({ length: 6 }, () => openStore(root, { create: false })));
  const results = await Promise.all(readers.map((r) => r.restore()));
  assert.deepEqual(results.map((r) => r.step), [1, 1, 1, 1, 1, 1]);
  assert.equal(readdirSync(join(root, '.quarantine')).length, 1);
});

test('an empty or partial holdfast.json (a full disk during create) counts as "not created" and is written again', async (t) => {
  const root = tempDir(t);
  for (const partial of ['', '{\n  "format": "holdf']) {
    writeFileSync(join(root, 'holdfast.json'), partial);
    await assert.rejects(openStore(root, { create: false }), (e: unknown) => isHoldfastError(e, 'HF_NOT_FOUND') && /creation was interrupted/.test(e.message));
    const store = await openStore(root);
    assert.equal(JSON.parse(readFileSync(join(root, 'holdfast.json'), 'utf8')).format, 'holdfast-store');
    await store.list();
  }
});

test('a store created by several processes at once: every one of them opens it', async (t) => {
  const root = join(tempDir(t), 'deep', 'store');
  const script = `import(${JSON.stringify(new URL('../../src/store/open-store.js', import.meta.url).href)}).then((m) => m.openStore(process.argv[1])).then(() => process.stdout.write('ok'))`;
  const children = Array.from({ length: 6 }, () =>
    new Promise<string>((resolve) => {
      const c = spawn(process.execPath, ['-e', script, root], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d) => (out += String(d)));
      c.stderr.on('data', (d) => (out += String(d)));
      c.on('close', () => resolve(out));
    }),
  );
  assert.deepEqual(await Promise.all(children), Array(6).fill('ok'));
  assert.deepEqual(readdirSync(root).sort(), ['holdfast.json']);
});

test('a FIFO in place of holdfast.json is refused at once; one in place of audit.log never blocks a save', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  execFileSync('mkfifo', [join(root, 'audit.log')]);
  const saved = await store.save(1, { state: { ok: true } });
  assert.equal(saved.step, 1);
  const other = tempDir(t);
  execFileSync('mkfifo', [join(other, 'holdfast.json')]);
  await assert.rejects(openStore(other), (e: unknown) => isHoldfastError(e, 'HF_FORMAT') && /is a special file \(a FIFO, socket or device\), expected a regular file/.test(e.message));
});

test('restore --to that fails partway leaves no file under its final name, and a retry succeeds', async () => {
  const { faulty, store } = await memoryStore();
  await store.save(1, { tensors: sampleTensors(1), state: { a: 1 } });
  await faulty.mkdir('/out');
  faulty.addRule({ on: 'pwrite', path: '/out/', fault: { type: 'error', errno: 'ENOSPC' } });
  await assert.rejects(store.restoreFiles(undefined, '/out'), (e: unknown) => isHoldfastError(e, 'HF_IO'));
  assert.deepEqual(await faulty.readdir('/out'), []);
  faulty.clearRules();
  const again = await store.restoreFiles(undefined, '/out');
  assert.deepEqual(again.files, ['/out/r0000-p000.safetensors']);
});

test('a store reached through a symlink works; so do a symlinked restore target and a symlinked input file', async (t) => {
  const base = tempDir(t);
  mkdirSync(join(base, 'nvme'));
  symlinkSync(join(base, 'nvme'), join(base, 'data'));
  const store = await openStore(join(base, 'data', 'store'));
  const input = join(base, 'weights.bin');
  writeFileSync(input, 'weights');
  symlinkSync(input, join(base, 'link.bin'));
  await store.commitFiles(1, [join(base, 'link.bin')]);
  mkdirSync(join(base, 'real-out'));
  symlinkSync(join(base, 'real-out'), join(base, 'out'));
  await store.restoreFiles(1, join(base, 'out'));
  assert.equal(readFileSync(join(base, 'real-out', 'link.bin'), 'utf8'), 'weights');
  assert.ok(existsSync(join(base, 'nvme', 'store', 'ckpt-000000000001', 'manifest.json')));
});

test('symlinks inside the store are refused: a .staging symlink, and a directory symlink inside a checkpoint', async (t) => {
  const root = tempDir(t);
  const outside = tempDir(t);
  const store = await openStore(root, { durability: 'atomic_dirsync' });
  symlinkSync(outside, join(root, '.staging'));
  await assert.rejects(store.save(1, { state: {} }), (e: unknown) => isHoldfastError(e, 'HF_IO') && /symlinks inside a store are refused/.test(e.message));
  assert.deepEqual(readdirSync(outside), []);

  const root2 = tempDir(t);
  const input = join(tempDir(t), 'x.bin');
  writeFileSync(input, 'inside');
  const store2 = await openStore(root2);
  await store2.commitFiles(1, [input]);
  // Replace the checkpoint's file by a directory symlink path: sub/x.bin where sub -> outside.
  const manifestPath = join(root2, 'ckpt-000000000001');
  mkdirSync(join(outside, 'sub'));
  writeFileSync(join(outside, 'sub', 'x.bin'), 'inside');
  symlinkSync(join(outside, 'sub'), join(manifestPath, 'sub'));
  const { localCheckpointReader } = await import('../../src/storage/local-reader.js');
  const { PosixFileSystem } = await import('../../src/fs/posix-file-system.js');
  const info = await localCheckpointReader(new PosixFileSystem(), manifestPath, 1).statFile('sub/x.bin');
  assert.equal(info?.kind, 'symlink');
});

test('the loser of a same-step race between two atomic writers gets HF_STEP_EXISTS, never a raw rename error', async () => {
  const { store } = await memoryStore();
  const storage = (store as unknown as { storage: import('../../src/storage/checkpoint-storage.js').CheckpointStorage }).storage;
  const a = await storage.begin(5, { nonce: 'a'.repeat(32), durability: 'atomic_dirsync' });
  const b = await storage.begin(5, { nonce: 'b'.repeat(32), durability: 'atomic_dirsync' });
  const runtime = new IoRuntime({ hashWorkers: 0 });
  await a.writeFile('x', [new TextEncoder().encode('a')], { runtime });
  await b.writeFile('x', [new TextEncoder().encode('b')], { runtime });
  await a.commit(new TextEncoder().encode('{}'), new Uint8Array());
  await assert.rejects(b.commit(new TextEncoder().encode('{}'), new Uint8Array()), (e: unknown) => isHoldfastError(e, 'HF_STEP_EXISTS'));
});

test('two processes saving one step in unsafe mode: exactly one is told committed, and the step holds its bytes', async (t) => {
  const root = tempDir(t);
  await openStore(root, { durability: 'unsafe' });
  const [a, b] = await Promise.all([openStore(root, { durability: 'unsafe' }), openStore(root, { durability: 'unsafe' })]);
  const results = await Promise.allSettled([a.save(5, { tensors: sampleTensors(50) }), b.save(5, { tensors: sampleTensors(51) })]);
  const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
  const lost = results[1 - won[0]!]!;
  assert.ok(lost.status === 'rejected' && isHoldfastError(lost.reason, 'HF_STEP_EXISTS'));
  const restored = await a.restore(5);
  assert.deepEqual(bytesOf(restored.tensors['f32.weight']!), bytesOf(sampleTensors(won[0] === 0 ? 50 : 51)['f32.weight']!));
});

test('several gc runs at once on one store (separate processes\' stores): all succeed, each old step is removed once', async (t) => {
  const root = tempDir(t);
  const writer = await openStore(root);
  for (const step of [1, 2, 3, 4, 5]) await writer.save(step, { state: { step } });
  const gcs = await Promise.all(Array.from({ length: 4 }, () => openStore(root, { create: false })));
  const results = await Promise.all(gcs.map((s) => s.gc({ keepLast: 2, stagingGraceMs: 0 })));
  assert.deepEqual(results.flatMap((r) => r.removedSteps).sort(), [1, 2, 3]);
  assert.deepEqual((await writer.list()).map((c) => c.step), [4, 5]);
});
