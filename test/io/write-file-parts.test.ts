/**
 * The write path's promise: whatever the I/O method, buffer pool and part
 * sizes, the file holds exactly the concatenation of the parts and the
 * returned hash is SHA-256 of those bytes; where O_DIRECT is refused the
 * write falls back to buffered and says so.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { FaultyFileSystem } from '../../src/fs/faulty-file-system.js';
import type { FileSystem, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { AlignedBufferPool } from '../../src/io/aligned-memory.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { snapshotSaveInput } from '../../src/io/snapshot.js';
import type { IoMethodChoice } from '../../src/io/io-options.js';
import { writeFileParts } from '../../src/io/write-file-parts.js';
import { tempDir } from '../helpers/temp-dir.js';
import { NoDirectFileSystem, bytes, chunkDigests, chunkListHex, fileBytes, sha256 } from './io-fixtures.js';

const MiB = 1024 * 1024;
const fs = new PosixFileSystem();
/** A small pool makes every file span many segments and makes writers wait for buffers. */
const smallPool = new AlignedBufferPool({ bufferBytes: 64 * 1024, maxBuffers: 3 });
const runtime = new IoRuntime({ hashWorkers: 2 });
test.after(() => runtime.close());
/** Three pages: chunk edges fall inside parts and inside the 64 KiB segments, never on their edges alone. */
const CHUNK = 3 * 4096;

const cases: [string, number[]][] = [
  ['no parts', []],
  ['one empty part', [0]],
  ['one byte', [1]],
  ['header only (aligned)', [4096]],
  ['header + ragged tensors', [4096, 1, 4095, 4097, 12345, 0, 3]],
  ['aligned tensors', [4096, 65536, 8192, 131072]],
  ['many tiny parts', [4096, ...Array.from({ length: 500 }, (_, i) => (i * 7) % 61)]],
  ['tens of MiB, ragged', [4096, 20 * MiB + 3, 7 * MiB, 5]],
];

for (const [name, sizes] of cases) {
  test(`${name}: direct, buffered and auto write the same bytes with the same hash and chunk digests`, async (t) => {
    const dir = tempDir(t);
    const parts = sizes.map((n, i) => bytes(n, i + 1));
    const expected = Buffer.concat(parts);
    for (const ioMethod of ['direct', 'buffered', 'auto'] as IoMethodChoice[]) {
      for (const [label, pool] of [['default pool', undefined], ['small pool', smallPool]] as const) {
        const p = join(dir, `${ioMethod}-${label.replace(' ', '-')}`);
        const w = await writeFileParts(fs, p, parts, { sync: true, ioMethod, pool, runtime, chunkBytes: CHUNK });
        const what = `${ioMethod}, ${label}`;
        assert.equal(w.sizeBytes, expected.length, what);
        // 2.1: the file hash is derived from the chunk digests (each byte hashed once).
        assert.equal(w.sha256Hex, chunkListHex(expected, CHUNK), what);
        assert.equal(w.hash, `${expected.length > CHUNK ? 'sha256-chunks' : 'sha256'}:${w.sha256Hex}`, what);
        assert.deepEqual(w.chunks, chunkDigests(expected, CHUNK), `chunk digests, ${what}`);
        assert.ok(fileBytes(p).equals(expected), `bytes on disk, ${what}`);
        if (ioMethod === 'direct') assert.equal(w.ioMethod, 'direct', `ext4 accepts O_DIRECT (${what})`);
        if (ioMethod === 'buffered') assert.equal(w.ioMethod, 'buffered');
      }
    }
  });
}

test('tensors staged by a snapshot are written zero-copy and still byte-identical, ragged or not', async (t) => {
  const dir = tempDir(t);
  const tensors = {
    a: { dtype: 'U8' as const, shape: [3 * MiB + 5], data: bytes(3 * MiB + 5, 1) },
    b: { dtype: 'U8' as const, shape: [1], data: bytes(1, 2) },
    c: { dtype: 'U8' as const, shape: [2 * MiB], data: bytes(2 * MiB, 3) },
    d: { dtype: 'U8' as const, shape: [777], data: bytes(777, 4) },
  };
  const header = bytes(4096, 9);
  for (const fileGroups of [undefined, [['a', 'b'], ['c', 'd']], [['d'], ['c', 'a'], ['b']]]) {
    const snap = snapshotSaveInput({ tensors }, { runtime, fileGroups });
    try {
      const views = (names: string[]): Uint8Array[] =>
        names.map((n) => {
          const d = snap.input.tensors![n]!.data;
          return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
        });
      for (const names of [['a', 'b', 'c', 'd'], ['c', 'd'], ['b', 'a']]) {
        for (const ioMethod of ['direct', 'buffered'] as const) {
          const p = join(dir, `${JSON.stringify(fileGroups)}-${names.join('')}-${ioMethod}`.replace(/[^\w-]/g, '_'));
          const parts = [header, ...views(names)];
          const expected = Buffer.concat([header, ...names.map((n) => tensors[n as keyof typeof tensors].data)]);
          const sources: ArrayBufferLike[] = [];
          const watching: FileSystem = Object.create(fs, {
            open: {
              value: async (path: string, mode: OpenMode, o?: OpenOptions) => {
                const fh = await fs.open(path, mode, o);
                const pwrite = fh.pwrite.bind(fh);
                fh.pwrite = (data, position) => (sources.push(data.buffer), pwrite(data, position));
                return fh;
              },
            },
          });
          const w = await writeFileParts(watching, p, parts, { sync: false, ioMethod, runtime, pool: smallPool });
          assert.equal(w.sha256Hex, sha256(expected));
          assert.ok(fileBytes(p).equals(expected), p);
          if (fileGroups === undefined && names.length === 4) {
            assert.ok(sources.includes(parts[1]!.buffer), `staged memory went to the kernel without a copy (${ioMethod})`);
          }
        }
      }
    } finally {
      snap.release();
    }
  }
});

test('where O_DIRECT is refused at open (tmpfs), the write falls back to buffered, says why, and remembers the directory', async (t) => {
  const dir = tempDir(t);
  const noDirect = new NoDirectFileSystem(fs);
  const parts = [bytes(4096, 1), bytes(3 * MiB + 1, 2)];
  const first = await writeFileParts(noDirect, join(dir, 'a'), parts, { sync: true, ioMethod: 'direct', runtime });
  assert.equal(first.ioMethod, 'buffered');
  assert.match(first.fallbackReason ?? '', /EINVAL/);
  assert.equal(first.sha256Hex, sha256(...parts));
  assert.ok(fileBytes(join(dir, 'a')).equals(Buffer.concat(parts)));
  const second = await writeFileParts(noDirect, join(dir, 'b'), parts, { sync: true, runtime });
  assert.equal(second.ioMethod, 'buffered');
  assert.equal(noDirect.refusedOpens, 1, 'the refusal is learned once per directory');
});

test('where O_DIRECT is accepted at open but the write is refused, the file is rewritten buffered', async (t) => {
  const dir = tempDir(t);
  const faulty = new FaultyFileSystem(fs).addRule({ on: 'pwrite', direct: true, fault: { type: 'error', errno: 'EINVAL' } });
  const parts = [bytes(4096, 1), bytes(2 * MiB + 17, 2)];
  const w = await writeFileParts(faulty, join(dir, 'f'), parts, { sync: true, ioMethod: 'auto', runtime });
  assert.equal(w.ioMethod, 'buffered');
  assert.match(w.fallbackReason ?? '', /EINVAL/);
  assert.ok(fileBytes(join(dir, 'f')).equals(Buffer.concat(parts)));
  assert.equal(faulty.openHandles, 0);
});

test('an I/O error mid-file propagates, closes the file and returns every pool buffer', async (t) => {
  const dir = tempDir(t);
  const pool = new AlignedBufferPool({ bufferBytes: 64 * 1024, maxBuffers: 2 });
  const faulty = new FaultyFileSystem(fs).addRule({ on: 'pwrite', nth: 5, fault: { type: 'error', errno: 'EIO' } });
  const parts = [bytes(4096, 1), bytes(MiB + 3, 2)];
  await assert.rejects(
    writeFileParts(faulty, join(dir, 'f'), parts, { sync: true, ioMethod: 'direct', pool, runtime }),
    (e) => isHoldfastError(e, 'HF_IO') && e.data.errno === 'EIO',
  );
  assert.equal(faulty.openHandles, 0);
  // Every buffer came back: a later write that needs them all completes.
  const w = await writeFileParts(fs, join(dir, 'g'), parts, { sync: false, ioMethod: 'direct', pool, runtime });
  assert.equal(w.sha256Hex, sha256(...parts));
  assert.equal(pool.allocated, 2);
});

test('the file is created exclusively: an existing path is refused, not overwritten', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'f');
  await writeFileParts(fs, p, [bytes(10, 1)], { sync: false, runtime });
  await assert.rejects(writeFileParts(fs, p, [bytes(MiB * 2, 2)], { sync: false, ioMethod: 'direct', runtime }), (e) => isHoldfastError(e, 'HF_IO'));
  assert.equal(statSync(p).size, 10);
  assert.ok(existsSync(p));
});

test('progress is reported up to the full size', async (t) => {
  const dir = tempDir(t);
  const seen: number[] = [];
  const parts = [bytes(4096, 1), bytes(300 * 1024 + 1, 2)];
  await writeFileParts(fs, join(dir, 'f'), parts, { sync: false, ioMethod: 'direct', pool: smallPool, runtime, onProgress: (done) => seen.push(done) });
  assert.equal(Math.max(...seen), 4096 + 300 * 1024 + 1);
});

test('when no hashing worker can start, the file is still written and hashed (on the main thread), and the result says why', async (t) => {
  const dir = tempDir(t);
  const broken = new IoRuntime({ hashWorkers: 2, workerFlags: { execArgv: ['--input-type=module'], nodeOptions: undefined } });
  t.after(() => broken.close());
  const parts = [bytes(4096, 1), bytes(3 * MiB + 1, 2)];
  const w = await writeFileParts(fs, join(dir, 'f'), parts, { sync: true, runtime: broken });
  assert.equal(w.sha256Hex, sha256(...parts));
  assert.ok(fileBytes(join(dir, 'f')).equals(Buffer.concat(parts)));
  assert.match(w.hashFallbackReason ?? '', /could not start.*--input-type/);
  const normal = await writeFileParts(fs, join(dir, 'g'), parts, { sync: true, runtime });
  assert.equal(normal.hashFallbackReason, undefined);
});

test('chunk digests default to the manifest chunk size, with a chunk edge inside a part', async (t) => {
  const dir = tempDir(t);
  const parts = [bytes(4096, 1), bytes(8 * MiB, 2), bytes(5, 3)]; // chunk 0 ends 4096 bytes into the second part
  const w = await writeFileParts(fs, join(dir, 'f'), parts, { sync: false, runtime });
  assert.deepEqual(w.chunks, chunkDigests(Buffer.concat(parts), 8 * MiB));
  assert.equal(w.chunks.sha256.length, 2);
});
