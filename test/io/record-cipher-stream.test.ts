/**
 * The streamed records must be the records `chunk-cipher.ts` defines, whatever
 * the pieces they arrive in: sealing a file piece by piece gives exactly the
 * bytes of sealing each record whole, opening gives back the plaintext, and a
 * changed byte, a swapped tag or another key names the first record that
 * does not authenticate.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { encryptedSize, encryptionKey, openRecord, recordCount, recordPlace, sealRecord, TAG_BYTES } from '../../src/format/chunk-cipher.js';
import { plainOffsetAt, plainPiecesOf, RecordCipherStream, type RecordCipherSpec } from '../../src/io/record-cipher-stream.js';
import { bytes } from './io-fixtures.js';

const key = encryptionKey(new Uint8Array(32).fill(7)).key;
const otherKey = encryptionKey(new Uint8Array(32).fill(8)).key;
const CHUNK = 1000;

function spec(op: 'seal' | 'open', plainSize: number, k = key): RecordCipherSpec {
  return { op, key: k, path: 'shard-0.safetensors', noncePrefix: '0123456789abcdef', plainSize, chunkBytes: CHUNK };
}

/** The stored file, record by record, as the cipher pool seals it. */
function sealedWhole(plain: Uint8Array): Uint8Array {
  const records = recordCount(plain.byteLength, CHUNK);
  const out = new Uint8Array(encryptedSize(plain.byteLength, CHUNK));
  for (let i = 0; i < records; i++) {
    const sealed = sealRecord(key, recordPlace('shard-0.safetensors', '0123456789abcdef', i, records), plain.subarray(i * CHUNK, Math.min((i + 1) * CHUNK, plain.byteLength)));
    out.set(sealed, i * (CHUNK + TAG_BYTES));
  }
  return out;
}

/** Splits [0, n) into pieces of the given sizes, cycling. */
function cuts(n: number, sizes: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let at = 0, i = 0; at < n; i++) {
    const len = Math.min(n - at, sizes[i % sizes.length]!);
    out.push([at, at + len]);
    at += len;
  }
  return out;
}

const pieceSizes = [[1], [7, 16, 1], [CHUNK], [CHUNK + TAG_BYTES], [CHUNK + TAG_BYTES + 3, 5], [4096], [1 << 20]];

for (const plainSize of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 333]) {
  test(`${plainSize} plaintext bytes: sealed piece by piece equals sealed whole, and opens back`, () => {
    const plain = bytes(plainSize, plainSize + 3);
    const stored = sealedWhole(plain);
    for (const sizes of pieceSizes) {
      // Seal: plaintext laid out at its stored places, tag gaps filled by the stream.
      const buf = new Uint8Array(stored.byteLength).fill(0xee);
      const sealing = new RecordCipherStream(spec('seal', plainSize));
      for (const [b, e] of cuts(stored.byteLength, sizes)) {
        const piece = buf.subarray(b, e);
        for (const p of plainPiecesOf(plainSize, CHUNK, b, e)) piece.set(plain.subarray(p.plain, p.plain + p.bytes), p.at);
        assert.equal(sealing.transform(piece), e - b);
      }
      assert.deepEqual(sealing.finish(), { complete: true }, `pieces ${sizes}`);
      assert.ok(Buffer.from(buf).equals(Buffer.from(stored)), `sealed bytes, pieces ${sizes}`);

      // Open: plaintext compacted to the start of each piece, at plainOffsetAt of the piece.
      const opened = new Uint8Array(plainSize);
      const opening = new RecordCipherStream(spec('open', plainSize));
      const copy = stored.slice();
      for (const [b, e] of cuts(copy.byteLength, sizes)) {
        const n = opening.transform(copy.subarray(b, e));
        opened.set(copy.subarray(b, b + n), plainOffsetAt(plainSize, CHUNK, b));
      }
      assert.deepEqual(opening.finish(), { complete: true }, `pieces ${sizes}`);
      assert.ok(Buffer.from(opened).equals(Buffer.from(plain)), `opened bytes, pieces ${sizes}`);
    }
  });
}

test('a flipped ciphertext byte, a flipped tag byte or another key names the first record that does not authenticate', () => {
  const plainSize = 4 * CHUNK + 10;
  const stored = sealedWhole(bytes(plainSize, 1));
  const openAll = (data: Uint8Array, k = key): ReturnType<RecordCipherStream['finish']> => {
    const s = new RecordCipherStream(spec('open', plainSize, k));
    for (const [b, e] of cuts(data.byteLength, [333])) s.transform(data.subarray(b, e));
    return s.finish();
  };
  const flipped = (at: number): Uint8Array => {
    const c = stored.slice();
    c[at]! ^= 1;
    return c;
  };
  assert.deepEqual(openAll(stored.slice()), { complete: true });
  assert.deepEqual(openAll(flipped(2 * (CHUNK + TAG_BYTES) + 5)), { complete: true, badRecord: 2 });
  assert.deepEqual(openAll(flipped(CHUNK + 3)), { complete: true, badRecord: 0 }, 'record 0 tag');
  assert.deepEqual(openAll(stored.slice(), otherKey), { complete: true, badRecord: 0 });
  // Records swapped: each is authenticated for its place, so the first moved one fails.
  const swapped = stored.slice();
  swapped.set(stored.subarray(0, CHUNK + TAG_BYTES), CHUNK + TAG_BYTES);
  swapped.set(stored.subarray(CHUNK + TAG_BYTES, 2 * (CHUNK + TAG_BYTES)), 0);
  assert.deepEqual(openAll(swapped), { complete: true, badRecord: 0 });
  // The whole-record reference agrees: the cipher pool's open refuses the same record.
  assert.equal(openRecord(key, recordPlace('shard-0.safetensors', '0123456789abcdef', 2, 5), flipped(2 * (CHUNK + TAG_BYTES) + 5).subarray(2 * (CHUNK + TAG_BYTES), 3 * (CHUNK + TAG_BYTES))), undefined);
});

test('a stream cut short is not complete, and bytes past the last record are refused', () => {
  const plainSize = 2 * CHUNK;
  const stored = sealedWhole(bytes(plainSize, 2));
  const s = new RecordCipherStream(spec('open', plainSize));
  s.transform(stored.slice(0, stored.byteLength - 1));
  assert.equal(s.finish().complete, false);
  const t = new RecordCipherStream(spec('open', plainSize));
  assert.throws(() => t.transform(new Uint8Array(stored.byteLength + 1)), /more stored bytes than its 2 records hold/);
});

test('plainPiecesOf and plainOffsetAt agree on where every plaintext byte is stored', () => {
  const plainSize = 3 * CHUNK + 17;
  const storedSize = encryptedSize(plainSize, CHUNK);
  const where = new Int32Array(storedSize).fill(-1);
  for (const p of plainPiecesOf(plainSize, CHUNK, 0, storedSize)) for (let k = 0; k < p.bytes; k++) where[p.at + k] = p.plain + k;
  let next = 0;
  for (let s = 0; s < storedSize; s++) {
    if (where[s] === -1) continue;
    assert.equal(where[s], next++, `stored ${s}`);
    assert.equal(plainOffsetAt(plainSize, CHUNK, s), where[s]);
  }
  assert.equal(next, plainSize);
  assert.equal(storedSize - plainSize, 4 * TAG_BYTES);
  // A sub-range gives the same pieces, shifted.
  const sub = plainPiecesOf(plainSize, CHUNK, 990, 2100);
  for (const p of sub) for (let k = 0; k < p.bytes; k++) assert.equal(where[990 + p.at + k], p.plain + k);
});
