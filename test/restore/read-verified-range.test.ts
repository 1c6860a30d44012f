import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import type { ManifestFile } from '../../src/format/manifest-types.js';
import { formatHash, sha256Hex } from '../../src/format/sha256.js';
import type { FileProblem } from '../../src/format/vocabulary.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { readVerifiedRange, type VerifiedBytes } from '../../src/restore/read-verified-range.js';
import type { CheckpointReader } from '../../src/storage/checkpoint-storage.js';

const C = 4096;

/** A reader over in-memory files that logs each range it returns; `short` cuts every read to 1000 bytes. */
function memoryReader(files: Map<string, Uint8Array>, log: [string, number, number][], short = false): CheckpointReader {
  const get = (name: string): Uint8Array => {
    const b = files.get(name);
    if (b === undefined) throw new HoldfastError('HF_NOT_FOUND', `mem://${name}: no such file`);
    return b;
  };
  return {
    step: 1,
    location: 'mem://ckpt/',
    locate: (name) => `mem://ckpt/${name}`,
    statFile: (name) => Promise.resolve(files.has(name) ? { kind: 'file', sizeBytes: files.get(name)!.byteLength } : undefined),
    readSmallFile: (name) => Promise.resolve(get(name)),
    readRange: (name, offset, into) => {
      const got = get(name).subarray(offset, offset + Math.min(into.byteLength, short ? 1000 : Infinity));
      into.set(got);
      log.push([name, offset, offset + got.byteLength]);
      return Promise.resolve(got.byteLength);
    },
    readHashed: (name, _size, options) => {
      const bytes = get(name);
      log.push([name, 0, bytes.byteLength]);
      return Promise.resolve({ sizeBytes: bytes.byteLength, sha256Hex: sha256Hex(bytes), ...(options.keep ? { bytes } : {}) });
    },
  };
}

function described(bytes: Uint8Array, chunks: boolean, chunkBytes = C): ManifestFile {
  const sha256: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) sha256.push(sha256Hex(bytes.subarray(at, at + chunkBytes)));
  return { path: 'f', size: bytes.byteLength, hash: formatHash(sha256Hex(bytes)), rank: 0, kind: 'shard', ...(chunks ? { chunks: { bytes: chunkBytes, sha256 } } : {}) };
}

const io = new IoRuntime({ hashWorkers: 0 });
after(() => io.close());
const content = Uint8Array.from({ length: 5 * C + 123 }, (_, i) => (i * 31) & 0xff);

describe('reading a verified byte range', () => {
  test('widened to whole chunks (the last one short), read in pieces if the reader returns less, all verified', async () => {
    for (const short of [false, true]) {
      const log: [string, number, number][] = [];
      const got = (await readVerifiedRange(memoryReader(new Map([['f', content]]), log, short), described(content, true), C + 10, 5 * C + 1, io)) as VerifiedBytes;
      assert.equal(got.start, C);
      assert.ok(Buffer.from(got.bytes).equals(Buffer.from(content.subarray(C, 5 * C + 123))));
      assert.equal(log.reduce((n, [, b, e]) => n + e - b, 0), 4 * C + 123);
    }
  });

  test('a damaged chunk is a hash problem naming the chunk and its bytes; an untouched chunk elsewhere is not read', async () => {
    const damaged = Uint8Array.from(content);
    damaged[2 * C + 5]! ^= 0x10;
    const file = described(content, true);
    const problem = (await readVerifiedRange(memoryReader(new Map([['f', damaged]]), []), file, 2 * C, 2 * C + 1, io)) as FileProblem;
    assert.equal(problem.reason, 'hash');
    assert.match(problem.message, /mem:\/\/ckpt\/f: chunk 2 \(bytes \[8192, 12288\)\) SHA-256 mismatch: recorded [0-9a-f]{64}, computed [0-9a-f]{64}/);
    const fine = await readVerifiedRange(memoryReader(new Map([['f', damaged]]), []), file, 0, C, io);
    assert.ok('bytes' in fine);
  });

  test('a file shorter than recorded is a size problem; a vanished one is missing', async () => {
    const cut = content.subarray(0, 3 * C);
    const short = (await readVerifiedRange(memoryReader(new Map([['f', cut]]), []), described(content, true), 2 * C, 4 * C, io)) as FileProblem;
    assert.equal(short.reason, 'size');
    assert.match(short.message, /ends at byte 12288, manifest records 20603 bytes/);
    const gone = (await readVerifiedRange(memoryReader(new Map(), []), described(content, true), 0, 1, io)) as FileProblem;
    assert.equal(gone.reason, 'missing');
  });

  test('a 1.0 file (no chunk digests) is read whole and checked against its whole-file hash', async () => {
    const log: [string, number, number][] = [];
    const ok = (await readVerifiedRange(memoryReader(new Map([['f', content]]), log), described(content, false), C, C + 1, io)) as VerifiedBytes;
    assert.equal(ok.start, 0);
    assert.equal(ok.bytes.byteLength, content.byteLength);
    assert.deepEqual(log, [['f', 0, content.byteLength]]);
    const damaged = Uint8Array.from(content);
    damaged[5 * C]! ^= 1;
    const problem = (await readVerifiedRange(memoryReader(new Map([['f', damaged]]), []), described(content, false), 0, 1, io)) as FileProblem;
    assert.equal(problem.reason, 'hash');
    assert.match(problem.message, /SHA-256 mismatch: recorded/);
  });

  test('chunks of 1 MiB and more hash on the runtime\'s workers, in parallel, with the same verdicts', async () => {
    const workers = new IoRuntime({ hashWorkers: 2 });
    try {
      const big = Uint8Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => (i * 7) & 0xff);
      const file = described(big, true, 1024 * 1024);
      const ok = (await readVerifiedRange(memoryReader(new Map([['f', big]]), []), file, 0, big.byteLength, workers)) as VerifiedBytes;
      assert.ok(Buffer.from(ok.bytes).equals(Buffer.from(big)));
      big[2 * 1024 * 1024 + 9]! ^= 4;
      const problem = (await readVerifiedRange(memoryReader(new Map([['f', big]]), []), file, 0, big.byteLength, workers)) as FileProblem;
      assert.match(problem.message, /chunk 2 \(bytes \[2097152, 3145728\)\) SHA-256 mismatch/);
    } finally {
      await workers.close();
    }
  });
});
