/**
 * Encryption at rest on the local byte paths: `writeFileParts` with a `seal`
 * stores exactly the records `chunk-cipher.ts` defines (sealed in the hashing
 * pass, hashed as stored), and `readFileHashed` with `decrypt` hands back the
 * plaintext, kept or delivered, whatever the I/O method, the buffer sizes and
 * where records fall against them; a changed stored byte or another key names
 * the record that does not authenticate.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { encryptedSize, encryptionKey, recordCount, recordPlace, sealRecord } from '../../src/format/chunk-cipher.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { AlignedBufferPool } from '../../src/io/aligned-memory.js';
import type { IoMethodChoice } from '../../src/io/io-options.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { readFileHashed } from '../../src/io/read-file-hashed.js';
import type { RecordCipherSpec } from '../../src/io/record-cipher-stream.js';
import { writeFileParts } from '../../src/io/write-file-parts.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytes, chunkDigests, chunkListHex } from './io-fixtures.js';

const MiB = 1024 * 1024;
const fs = new PosixFileSystem();
const runtime = new IoRuntime({ hashWorkers: 2 });
test.after(() => runtime.close());
const smallPool = new AlignedBufferPool({ bufferBytes: 64 * 1024, maxBuffers: 3 });
const key = encryptionKey(new Uint8Array(40).fill(3)).key;
/** Records that straddle the 64 KiB and 16 MiB segments and the 3-page digest chunks. */
const RECORD = 100_003;
const DIGEST_CHUNK = 3 * 4096;

function sealSpec(op: 'seal' | 'open', plainSize: number, k = key): RecordCipherSpec {
  return { op, key: k, path: 'data/shard.safetensors', noncePrefix: 'fedcba9876543210', plainSize, chunkBytes: RECORD };
}

function sealedReference(plain: Uint8Array): Buffer {
  const records = recordCount(plain.byteLength, RECORD);
  return Buffer.concat(
    Array.from({ length: records }, (_, i) => sealRecord(key, recordPlace('data/shard.safetensors', 'fedcba9876543210', i, records), plain.subarray(i * RECORD, Math.min((i + 1) * RECORD, plain.byteLength)))),
  );
}

for (const sizes of [[1], [4096, 3], [4096, 2 * MiB + 5, 17], [4096, 20 * MiB + 3, 1]]) {
  const plainSize = sizes.reduce((a, b) => a + b, 0);
  test(`${plainSize} plaintext bytes: sealed in the write pass as the records are defined, opened in the read pass`, async (t) => {
    const dir = tempDir(t);
    const parts = sizes.map((n, i) => bytes(n, 11 + i));
    const plain = Buffer.concat(parts);
    const stored = sealedReference(plain);
    assert.equal(stored.byteLength, encryptedSize(plainSize, RECORD));
    for (const ioMethod of ['direct', 'buffered'] as IoMethodChoice[]) {
      for (const [label, pool] of [['default pool', undefined], ['small pool', smallPool]] as const) {
        const what = `${ioMethod}, ${label}`;
        const p = join(dir, `${ioMethod}-${label.replace(' ', '-')}`);
        const w = await writeFileParts(fs, p, parts, { sync: false, ioMethod, pool, runtime, chunkBytes: DIGEST_CHUNK, seal: sealSpec('seal', plainSize) });
        assert.equal(w.sealed, true, what);
        assert.ok(readFileSync(p).equals(stored), `stored bytes, ${what}`);
        assert.equal(w.sizeBytes, stored.byteLength, what);
        assert.deepEqual(w.chunks, chunkDigests(stored, DIGEST_CHUNK), `digests are of the stored bytes, ${what}`);
        assert.equal(w.sha256Hex, chunkListHex(stored, DIGEST_CHUNK), what);

        const kept = await readFileHashed(fs, p, stored.byteLength, { keep: true, ioMethod, pool, runtime, depth: 3, chunks: w.chunks, wholeFile: false, decrypt: sealSpec('open', plainSize) });
        assert.equal(kept.decrypted, true, what);
        assert.equal(kept.badRecord, undefined, what);
        assert.equal(kept.sha256Hex, w.sha256Hex, what);
        assert.ok(Buffer.from(kept.bytes!.buffer, kept.bytes!.byteOffset, kept.bytes!.byteLength).equals(plain), `kept plaintext, ${what}`);

        const delivered = new Uint8Array(plainSize);
        let deliveredBytes = 0;
        const streamed = await readFileHashed(fs, p, stored.byteLength, {
          keep: false,
          ioMethod,
          runtime,
          decrypt: sealSpec('open', plainSize),
          deliver: (position, chunk) => {
            delivered.set(chunk, position);
            deliveredBytes += chunk.byteLength;
          },
        });
        assert.equal(streamed.decrypted, true, what);
        assert.equal(deliveredBytes, plainSize, `each plaintext byte delivered once, ${what}`);
        assert.ok(Buffer.from(delivered).equals(plain), `delivered plaintext, ${what}`);
      }
    }
  });
}

test('a changed stored byte changes the hash and names its record; another key leaves the hash and fails record 0', async (t) => {
  const dir = tempDir(t);
  const plain = bytes(3 * MiB + 7, 5);
  const p = join(dir, 'f');
  const w = await writeFileParts(fs, p, [plain], { sync: false, runtime, chunkBytes: DIGEST_CHUNK, seal: sealSpec('seal', plain.byteLength) });
  const stored = readFileSync(p);
  const record = 17;
  stored[record * (RECORD + 16) + 99]! ^= 0x40;
  writeFileSync(p, stored);
  const damaged = await readFileHashed(fs, p, w.sizeBytes, { keep: true, runtime, chunks: w.chunks, wholeFile: false, decrypt: sealSpec('open', plain.byteLength) });
  assert.notEqual(damaged.sha256Hex, w.sha256Hex);
  assert.equal(damaged.badRecord, record);
  stored[record * (RECORD + 16) + 99]! ^= 0x40;
  writeFileSync(p, stored);
  const other = encryptionKey(new Uint8Array(40).fill(4)).key;
  const wrongKey = await readFileHashed(fs, p, w.sizeBytes, { keep: false, runtime, chunks: w.chunks, wholeFile: false, decrypt: sealSpec('open', plain.byteLength, other) });
  assert.equal(wrongKey.sha256Hex, w.sha256Hex);
  assert.equal(wrongKey.badRecord, 0);
});

test('a seal whose plaintext size is not the parts\' is refused before anything is written', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(writeFileParts(fs, join(dir, 'f'), [bytes(100, 1)], { sync: false, runtime, seal: sealSpec('seal', 99) }), /a seal of 99 plaintext bytes \(seal\) was given 100 bytes/);
});
