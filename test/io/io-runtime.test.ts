/**
 * An io runtime owns the hashing workers and the I/O memory: close() stops
 * the workers and frees the memory, is idempotent, and makes any later use a
 * clear HF_ABORTED; a store closes the runtime it created, never one it was
 * given; a process that closes its store exits by itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { writeFileParts } from '../../src/io/write-file-parts.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytes, sha256 } from './io-fixtures.js';

const MiB = 1024 * 1024;
const fs = new PosixFileSystem();
const LIBRARY_URL = new URL('../../src/index.js', import.meta.url).href;

/** Threads of this process (Linux): each hashing worker is one. */
function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

test('warm() starts the workers, close() stops them; close is idempotent and a closed runtime refuses use', async (t) => {
  const dir = tempDir(t);
  await fs.stat(dir); // starts libuv's thread pool first, so it is not counted as a worker below
  const before = threads();
  const runtime = new IoRuntime({ hashWorkers: 2 });
  await runtime.warm();
  assert.equal(threads(), before + 2, 'two worker threads run after warm()');
  const parts = [bytes(3 * MiB + 1, 1)];
  const w = await writeFileParts(fs, join(dir, 'f'), parts, { sync: false, runtime });
  assert.equal(w.sha256Hex, sha256(...parts));
  assert.equal(w.hashFallbackReason, undefined);
  await Promise.all([runtime.close(), runtime.close()]);
  await runtime.close();
  assert.equal(runtime.closed, true);
  assert.equal(threads(), before, 'the worker threads are gone');
  assert.throws(() => runtime.hashers, (e) => isHoldfastError(e, 'HF_ABORTED') && /io runtime is closed/.test(e.message));
  assert.throws(() => runtime.staging, (e) => isHoldfastError(e, 'HF_ABORTED'));
  await assert.rejects(writeFileParts(fs, join(dir, 'g'), parts, { sync: false, runtime }), (e) => isHoldfastError(e, 'HF_ABORTED'));
  await assert.rejects(runtime.warm(), (e) => isHoldfastError(e, 'HF_ABORTED'));
});

test('a store closes only the runtime it created; one passed in stays usable by other stores until its owner closes it', async (t) => {
  const dir = tempDir(t);
  const shared = new IoRuntime({ hashWorkers: 1 });
  t.after(() => shared.close());
  const tensors = { w: { dtype: 'U8' as const, shape: [2 * MiB], data: bytes(2 * MiB, 4) } };
  const a = await openStore(join(dir, 'a'), { runtime: shared });
  const b = await openStore(join(dir, 'b'), { runtime: shared });
  await a.save(1, { tensors });
  await a.close();
  await b.save(1, { tensors });
  assert.deepEqual((await b.restore(1)).tensors['w']!.data, tensors.w.data);
  assert.equal(shared.closed, false);

  const own = await openStore(join(dir, 'c'));
  await own.save(1, { tensors });
  await own.close();
  await own.close();
  await assert.rejects(own.restore(1), (e) => isHoldfastError(e, 'HF_ABORTED'));
});

test('a process that saves and restores a large state, then closes its store, exits by itself with code 0', (t) => {
  const dir = tempDir(t);
  const script = `
import { openStore } from ${JSON.stringify(LIBRARY_URL)};
import { readFileSync } from 'node:fs';
const threads = () => Number(/^Threads:\\s+(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const data = new Float32Array(${2 * MiB});
for (let i = 0; i < data.length; i++) data[i] = i;
const store = await openStore(${JSON.stringify(join(dir, 'store'))});
const before = threads();
await store.save(1, { tensors: { w: { dtype: 'F32', shape: [data.length], data } } });
const back = (await store.restore()).tensors.w.data;
let same = back.length === data.length;
for (let i = 0; same && i < data.length; i++) same = back[i] === data[i];
const during = threads();
await store.close();
console.log(JSON.stringify({ same, workersStarted: during > before, workersStopped: threads() === before }));
`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(process.execPath, ['--input-type=module'], { input: script, encoding: 'utf8', env, timeout: 120_000 });
  assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal})\nstderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { same: true, workersStarted: true, workersStopped: true });
});

test('warm(stateBytes) reserves and faults in the buffers a save of that size uses, and the save then allocates none', async (t) => {
  const runtime = new IoRuntime({ hashWorkers: 1, bufferBytes: 4 * MiB, maxBuffers: 6 });
  t.after(() => runtime.close());
  const rss = process.memoryUsage().rss;
  await runtime.warm(3 * 4 * MiB + 1);
  assert.equal(runtime.buffers.allocated, 4, 'one buffer per started 4 MiB of state');
  assert.equal(runtime.buffers.idle, 4);
  assert.ok(process.memoryUsage().rss - rss >= 3 * 4 * MiB, 'the buffers are faulted in, not just reserved');
  await runtime.warm(1000 * MiB);
  assert.equal(runtime.buffers.allocated, 6, 'never past maxBuffers');
  const store = await openStore(tempDir(t), { runtime });
  const tensors = { w: { dtype: 'U8' as const, shape: [9 * MiB + 5], data: bytes(9 * MiB + 5, 7) } };
  await store.save(1, { tensors });
  assert.equal(runtime.buffers.allocated, 6, 'the save reused the reserved buffers');
  assert.deepEqual((await store.restore({ into: { w: new Uint8Array(9 * MiB + 5) } })).tensors['w']!.data, tensors.w.data);
  assert.equal(runtime.buffers.allocated, 6, 'so did the restore into the caller arrays');
  await assert.rejects(runtime.warm(-1), (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
});

test('openStore({ warm }) starts the hashing workers before it returns; a bad byte count is refused', async (t) => {
  const dir = tempDir(t);
  await fs.stat(dir);
  const before = threads();
  const store = await openStore(join(dir, 's'), { warm: 64 * MiB });
  assert.ok(threads() > before, 'workers run before the first save');
  await store.close();
  await assert.rejects(openStore(join(dir, 's'), { warm: -5 }), (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
});
