/** Hashing on worker threads gives exactly node:crypto's SHA-256 of the same bytes, in update order. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { allocAligned } from '../../src/io/aligned-memory.js';
import { HashWorkerPool } from '../../src/io/hash-worker-pool.js';
import { bytes, chunkDigests, chunkListHex, sha256 } from './io-fixtures.js';

test('worker hashes equal node:crypto for shared and ordinary memory, empty to several MiB', async (t) => {
  const pool = new HashWorkerPool({ workers: 2 });
  t.after(() => pool.close());
  for (const n of [0, 1, 63, 64, 65, 4096, 3 * 1024 * 1024 + 7]) {
    const plain = bytes(n, n + 1);
    const shared = allocAligned(n);
    shared.set(plain);
    for (const b of [plain, shared]) {
      const s = pool.open();
      await s.update(b);
      assert.equal((await s.digest()).sha256Hex, sha256(plain), `${n} bytes, ${b.buffer instanceof SharedArrayBuffer ? 'shared' : 'plain'}`);
    }
  }
});

test('many interleaved streams keep their own order and bytes', async (t) => {
  const pool = new HashWorkerPool({ workers: 2 });
  t.after(() => pool.close());
  const chunks = Array.from({ length: 6 }, (_, s) => Array.from({ length: 20 }, (_, i) => bytes(1000 + i * 37, s * 100 + i)));
  const streams = chunks.map(() => pool.open());
  const updates: Promise<unknown>[] = [];
  for (let i = 0; i < 20; i++) for (let s = 0; s < streams.length; s++) updates.push(streams[s]!.update(chunks[s]![i]!));
  await Promise.all(updates);
  const digests = await Promise.all(streams.map((s) => s.digest()));
  digests.forEach((d, s) => assert.equal(d.sha256Hex, sha256(...chunks[s]!)));
});

test('a pool of zero workers hashes inline with the same result', async () => {
  const pool = new HashWorkerPool({ workers: 0 });
  const s = pool.open();
  const b = bytes(100000, 5);
  await s.update(b.subarray(0, 7));
  await s.update(b.subarray(7));
  assert.equal((await s.digest()).sha256Hex, sha256(b));
});

test('a finished or aborted stream refuses further use', async (t) => {
  const pool = new HashWorkerPool({ workers: 1 });
  t.after(() => pool.close());
  const s = pool.open();
  await s.digest();
  await assert.rejects(s.update(bytes(1, 1)));
  const a = pool.open();
  a.abort();
  await assert.rejects(a.digest());
});

test('a worker that cannot start is reported, and its streams are hashed on the calling thread with the same digest', async (t) => {
  // A real start failure: Node refuses --input-type in a worker started from a file (issue 15).
  const pool = new HashWorkerPool({ workers: 2, flags: { execArgv: ['--input-type=module'], nodeOptions: undefined } });
  t.after(() => pool.close());
  const b = bytes(3 * 1024 * 1024 + 5, 9);
  for (let round = 0; round < 2; round++) {
    const s = pool.open(b.byteLength);
    await s.update(b.subarray(0, 1000));
    await s.update(b.subarray(1000));
    assert.equal((await s.digest()).sha256Hex, sha256(b));
    assert.match(s.fallbackReason ?? '', /could not start.*--input-type/);
  }
  assert.match(pool.fallbackReason ?? '', /--input-type/);
});

test('a stream on a started worker reports no fallback', async (t) => {
  const pool = new HashWorkerPool({ workers: 1 });
  t.after(() => pool.close());
  const s = pool.open(4 * 1024 * 1024);
  await s.update(bytes(4 * 1024 * 1024, 3));
  assert.equal((await s.digest()).sha256Hex, sha256(bytes(4 * 1024 * 1024, 3)));
  assert.equal(s.fallbackReason, undefined);
  assert.equal(pool.fallbackReason, undefined);
});

test('a stream opened with a chunk size gives the digest of each chunk too, on a worker and inline alike', async (t) => {
  const pool = new HashWorkerPool({ workers: 1 });
  t.after(() => pool.close());
  const inline = new HashWorkerPool({ workers: 0 });
  const data = bytes(5 * 4096 + 17, 4);
  for (const p of [pool, inline]) {
    const s = p.open(data.byteLength < 1024 * 1024 ? 2 * 1024 * 1024 : undefined, 4096);
    // Updates that straddle chunk edges, and one that ends exactly on one.
    for (const [a, b] of [[0, 100], [100, 8192], [8192, 9000], [9000, data.byteLength]]) await s.update(data.subarray(a, b));
    const d = await s.digest();
    assert.equal(d.sha256Hex, sha256(data));
    assert.deepEqual(d.chunks, chunkDigests(data, 4096));
  }
});

test('a stream opened without the whole-file hash gives the same chunk digests and the hash derived from them, on a worker and inline alike', async (t) => {
  const pool = new HashWorkerPool({ workers: 1 });
  t.after(() => pool.close());
  const inline = new HashWorkerPool({ workers: 0 });
  const data = bytes(5 * 4096 + 17, 5);
  for (const p of [pool, inline]) {
    const s = p.open(data.byteLength < 1024 * 1024 ? 2 * 1024 * 1024 : undefined, 4096, false);
    for (const [a, b] of [[0, 100], [100, 8192], [8192, 9000], [9000, data.byteLength]]) await s.update(data.subarray(a, b));
    const d = await s.digest();
    assert.deepEqual(d.chunks, chunkDigests(data, 4096));
    assert.equal(d.hash, `sha256-chunks:${chunkListHex(data, 4096)}`);
  }
});
