/**
 * The read path's promise: every byte handed back equals the file, the hash is
 * SHA-256 of the whole file whatever the I/O method and chunking, a single
 * flipped bit changes it, and a size that disagrees is reported before any
 * byte is read. Kept bytes are one ordinary (non-shared) buffer per file that
 * no hashing worker ever sees, so the garbage collector can free it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import type { FileHandle, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { FileSystemWrapper } from '../../src/fs/file-system-wrapper.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { AlignedBufferPool } from '../../src/io/aligned-memory.js';
import type { HashStream } from '../../src/io/hash-worker-pool.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { allocKeptBytes, readFileHashed, readFilesHashed } from '../../src/io/read-file-hashed.js';
import { openStore } from '../../src/store/open-store.js';
import type { IoMethodChoice } from '../../src/io/io-options.js';
import { tempDir } from '../helpers/temp-dir.js';
import { NoDirectFileSystem, bytes, chunkDigests, sha256 } from './io-fixtures.js';

const MiB = 1024 * 1024;
const fs = new PosixFileSystem();
const runtime = new IoRuntime({ hashWorkers: 2 });
test.after(() => runtime.close());
const smallPool = new AlignedBufferPool({ bufferBytes: 64 * 1024, maxBuffers: 2 });

for (const size of [0, 1, 4095, 4096, 4097, 65536 * 3 + 1, 20 * MiB + 3]) {
  test(`${size} bytes: direct, buffered and auto reads return the file, its hash and chunk digests, kept or not`, async (t) => {
    const dir = tempDir(t);
    const data = bytes(size, size + 7);
    const chunks = chunkDigests(data, 3 * 4096);
    const p = join(dir, 'f');
    writeFileSync(p, data);
    for (const ioMethod of ['direct', 'buffered', 'auto'] as IoMethodChoice[]) {
      for (const keep of [true, false]) {
        const r = await readFileHashed(fs, p, size, { keep, ioMethod, runtime, pool: smallPool, depth: 3, chunks });
        const what = `${ioMethod}, keep ${keep}`;
        assert.equal(r.sizeBytes, size, what);
        assert.equal(r.sha256Hex, sha256(data), what);
        assert.deepEqual(r.chunks, chunks, what);
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
      const r = await readFileHashed(fs, p, size, { keep: false, ioMethod, runtime, pool: smallPool });
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
    const r = await readFileHashed(fs, p, expected, { keep: true, runtime });
    assert.deepEqual(r, { sizeBytes: 5000, sha256Hex: '' });
  }
});

test('where O_DIRECT is refused, reads fall back to buffered', async (t) => {
  const dir = tempDir(t);
  const data = bytes(2 * MiB + 9, 4);
  const p = join(dir, 'f');
  writeFileSync(p, data);
  const r = await readFileHashed(new NoDirectFileSystem(fs), p, data.length, { keep: true, ioMethod: 'direct', runtime });
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
  const rs = await readFilesHashed(fs, files.map((f) => ({ path: f.path, expectedSizeBytes: f.data.length })), { keep: true, runtime, concurrency: 3 });
  rs.forEach((r, i) => {
    assert.equal(r.sha256Hex, sha256(files[i]!.data));
    assert.ok(Buffer.from(r.bytes!).equals(files[i]!.data));
  });
});

/** A runtime whose hash streams record the memory of every chunk they are handed. */
function spyRuntime(): { runtime: IoRuntime; seen: Set<ArrayBufferLike> } {
  const runtime = new IoRuntime({ hashWorkers: 2 });
  const seen = new Set<ArrayBufferLike>();
  const pool = runtime.hashers;
  const open = pool.open.bind(pool);
  pool.open = (expectedBytes?: number): HashStream => {
    const inner = open(expectedBytes);
    return {
      update: (b) => (seen.add(b.buffer), inner.update(b)),
      digest: () => inner.digest(),
      abort: () => inner.abort(),
    };
  };
  return { runtime, seen };
}

test('kept bytes are one ordinary buffer per file, filled by O_DIRECT, and never handed to a hashing worker', async (t) => {
  const dir = tempDir(t);
  const spy = spyRuntime();
  t.after(() => spy.runtime.close());
  for (const size of [5 * MiB + 4097, 3 * MiB]) {
    const data = bytes(size, size);
    const p = join(dir, `k${size}`);
    writeFileSync(p, data);
    const r = await readFileHashed(fs, p, size, { keep: true, ioMethod: 'direct', runtime: spy.runtime, pool: smallPool });
    assert.equal(r.sha256Hex, sha256(data));
    assert.equal(r.ioMethod, 'direct');
    assert.ok(!(r.bytes!.buffer instanceof SharedArrayBuffer), 'not shared memory: the GC accounts for it and frees it');
    assert.equal(r.bytes!.byteOffset, 0);
    assert.equal(r.bytes!.buffer.byteLength, size, 'exactly one allocation of the file size');
    assert.ok(!spy.seen.has(r.bytes!.buffer), 'workers only ever see pool buffers, so they cannot keep this memory alive');
    assert.ok(Buffer.from(r.bytes!.buffer, 0, size).equals(data));
  }
});

test('allocKeptBytes: zeroed, exact size, O_DIRECT-capable below 4 GiB', () => {
  for (const n of [0, 1, 4096, 10 * MiB + 3]) {
    const { bytes: b, direct } = allocKeptBytes(n);
    assert.equal(b.byteLength, n);
    assert.equal(direct, true);
    assert.ok(b.every((x) => x === 0));
  }
});

/**
 * Fails O_DIRECT reads with `errno`, from the `afterReads`-th on: EINVAL is how some FUSE and network
 * file systems refuse O_DIRECT they accepted at open; EIO is a real read error.
 */
class FailingDirectReads extends FileSystemWrapper {
  refused = 0;
  private reads = 0;
  constructor(inner: PosixFileSystem, private readonly errno: string, private readonly afterReads = 0) {
    super(inner, 'failing-direct-reads');
  }
  override async open(p: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const fh = await this.inner.open(p, mode, options);
    if (!options?.direct) return fh;
    const self = this;
    return {
      path: fh.path,
      pwrite: (d, pos) => fh.pwrite(d, pos),
      async pread(into, position, length): Promise<number> {
        if (self.reads++ < self.afterReads) return fh.pread(into, position, length);
        self.refused++;
        throw new HoldfastError('HF_IO', `pread ${p}: injected ${self.errno}`, { path: p, data: { errno: self.errno, syscall: 'pread' } });
      },
      truncate: (n) => fh.truncate(n),
      sync: () => fh.sync(),
      datasync: () => fh.datasync(),
      stat: () => fh.stat(),
      close: () => fh.close(),
    };
  }
}

test('where O_DIRECT is accepted at open but the read is refused, the file is read again buffered', async (t) => {
  const dir = tempDir(t);
  const data = bytes(3 * MiB + 5, 9);
  const p = join(dir, 'f');
  writeFileSync(p, data);
  const refusing = new FailingDirectReads(fs, 'EINVAL');
  for (const keep of [true, false]) {
    const r = await readFileHashed(refusing, p, data.length, { keep, ioMethod: 'direct', runtime, pool: smallPool });
    assert.equal(r.ioMethod, 'buffered');
    assert.equal(r.sha256Hex, sha256(data));
    if (keep) assert.ok(Buffer.from(r.bytes!).equals(data));
  }
  assert.ok(refusing.refused > 0);
});

test('a read error mid-file propagates and returns every pool buffer, kept or not', async (t) => {
  const dir = tempDir(t);
  const data = bytes(5 * MiB + 5, 10);
  const p = join(dir, 'f');
  writeFileSync(p, data);
  const pool = new AlignedBufferPool({ bufferBytes: 64 * 1024, maxBuffers: 2 });
  for (const keep of [true, false]) {
    await assert.rejects(
      readFileHashed(new FailingDirectReads(fs, 'EIO', 2), p, data.length, { keep, ioMethod: 'direct', runtime, pool }),
      (e) => e instanceof HoldfastError && e.data.errno === 'EIO',
    );
    // Every buffer came back by the time the error surfaced, and a later read completes.
    assert.equal(pool.idle, pool.allocated, `keep ${keep}: a pool buffer was not returned`);
    const r = await readFileHashed(fs, p, data.length, { keep, ioMethod: 'direct', runtime, pool });
    assert.equal(r.sha256Hex, sha256(data));
  }
  assert.equal(pool.allocated, 2);
});

test('store.restore hands back tensors that are views of one ordinary buffer per shard file', async (t) => {
  const store = await openStore(join(tempDir(t), 'store'), { shardSizeBytes: 2 * MiB });
  const f32 = (n: number, seed: number): Float32Array => new Float32Array(bytes(n * 4, seed).buffer);
  const tensors = {
    a: { dtype: 'F32' as const, shape: [600_000], data: f32(600_000, 1) },
    b: { dtype: 'F32' as const, shape: [300_000], data: f32(300_000, 2) },
    c: { dtype: 'BF16' as const, shape: [5], data: new Uint16Array([1, 2, 3, 4, 5]) },
  };
  await store.save(1, { tensors });
  const r = await store.restore(1);
  const buffers = new Set(Object.values(r.tensors).map((x) => x.data.buffer));
  assert.equal(buffers.size, r.manifest.files.length, 'one buffer per file');
  for (const [name, x] of Object.entries(r.tensors)) {
    assert.ok(!(x.data.buffer instanceof SharedArrayBuffer), name);
    assert.ok(Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).equals(Buffer.from(tensors[name as keyof typeof tensors].data.buffer)), name);
  }
});

test('when no hashing worker can start, reads still hash every byte (on the main thread) and say why', async (t) => {
  const dir = tempDir(t);
  const broken = new IoRuntime({ hashWorkers: 2, workerFlags: { execArgv: ['--input-type=module'], nodeOptions: undefined } });
  t.after(() => broken.close());
  const data = bytes(3 * MiB + 11, 6);
  const p = join(dir, 'f');
  writeFileSync(p, data);
  for (const keep of [true, false]) {
    const r = await readFileHashed(fs, p, data.length, { keep, runtime: broken, pool: smallPool });
    assert.equal(r.sha256Hex, sha256(data));
    assert.match(r.hashFallbackReason ?? '', /could not start.*--input-type/);
  }
  assert.equal((await readFileHashed(fs, p, data.length, { keep: false, runtime, pool: smallPool })).hashFallbackReason, undefined);
});
