/**
 * The read path's promise: every byte handed back equals the file, the hash is
 * SHA-256 of the whole file whatever the I/O method and chunking, a single
 * flipped bit changes it, and a size that disagrees is reported before any
 * byte is read.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { AlignedBufferPool } from '../../src/io/aligned-memory.js';
import { HashWorkerPool } from '../../src/io/hash-worker-pool.js';
import { readFileHashed, readFilesHashed } from '../../src/io/read-file-hashed.js';
import type { IoMethodChoice } from '../../src/io/write-file-parts.js';
import { tempDir } from '../helpers/temp-dir.js';
import { NoDirectFileSystem, bytes, sha256 } from './io-fixtures.js';

const MiB = 1024 * 1024;
const fs = new PosixFileSystem();
const hashers = new HashWorkerPool({ workers: 2 });
test.after(() => hashers.close());
const smallPool = new AlignedBufferPool({ bufferBytes: 64 * 1024, maxBuffers: 2 });

for (const size of [0, 1, 4095, 4096, 4097, 65536 * 3 + 1, 20 * MiB + 3]) {
  test(`${size} bytes: direct, buffered and auto reads return the file and its hash, kept or not`, async (t) => {
    const dir = tempDir(t);
    const data = bytes(size, size + 7);
    const p = join(dir, 'f');
    writeFileSync(p, data);
    for (const ioMethod of ['direct', 'buffered', 'auto'] as IoMethodChoice[]) {
      for (const keep of [true, false]) {
        const r = await readFileHashed(fs, p, size, { keep, ioMethod, hashers, pool: smallPool, depth: 3 });
        const what = `${ioMethod}, keep ${keep}`;
        assert.equal(r.sizeBytes, size, what);
        assert.equal(r.sha256Hex, sha256(data), what);
        if (keep) assert.ok(Buffer.from(r.bytes!.buffer, r.bytes!.byteOffset, r.bytes!.byteLength).equals(data), what);
        else assert.equal(r.bytes, undefined);
        if (ioMethod === 'direct' && size >= 4096) assert.equal(r.ioMethod, 'direct', what);
      }
    }
  });
}

test('a single flipped bit anywhere changes the hash', async (t) => {
  const dir = tempDir(t);
  const size = 3 * MiB + 100;
  const data = bytes(size, 3);
  const good = sha256(data);
  for (const at of [0, 4095, 4096, 2 * MiB + 1, size - 1]) {
    const flipped = Buffer.from(data);
    flipped[at]! ^= 0x10;
    const p = join(dir, `f${at}`);
    writeFileSync(p, flipped);
    for (const ioMethod of ['direct', 'buffered'] as const) {
      const r = await readFileHashed(fs, p, size, { keep: false, ioMethod, hashers, pool: smallPool });
      assert.notEqual(r.sha256Hex, good, `bit flipped at ${at}, ${ioMethod}`);
      assert.equal(r.sha256Hex, sha256(flipped));
    }
  }
});

test('a file of the wrong size is reported without reading it', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'f');
  writeFileSync(p, bytes(5000, 1));
  for (const expected of [4999, 5001, 0]) {
    const r = await readFileHashed(fs, p, expected, { keep: true, hashers });
    assert.deepEqual(r, { sizeBytes: 5000, sha256Hex: '' });
  }
});

test('where O_DIRECT is refused, reads fall back to buffered', async (t) => {
  const dir = tempDir(t);
  const data = bytes(2 * MiB + 9, 4);
  const p = join(dir, 'f');
  writeFileSync(p, data);
  const r = await readFileHashed(new NoDirectFileSystem(fs), p, data.length, { keep: true, ioMethod: 'direct', hashers });
  assert.equal(r.ioMethod, 'buffered');
  assert.equal(r.sha256Hex, sha256(data));
});

test('several files read in parallel come back in order with their own bytes', async (t) => {
  const dir = tempDir(t);
  const files = [0, 1, 2, 3, 4].map((i) => {
    const data = bytes(MiB + i * 4099, i + 20);
    const path = join(dir, `f${i}`);
    writeFileSync(path, data);
    return { path, data };
  });
  const rs = await readFilesHashed(fs, files.map((f) => ({ path: f.path, expectedSizeBytes: f.data.length })), { keep: true, hashers, concurrency: 3 });
  rs.forEach((r, i) => {
    assert.equal(r.sha256Hex, sha256(files[i]!.data));
    assert.ok(Buffer.from(r.bytes!).equals(files[i]!.data));
  });
});
