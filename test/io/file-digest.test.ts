/** Chunk digests are a function of the bytes and the chunk size alone: however the bytes arrive, edges are file offsets. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { ChunkedSha256 } from '../../src/io/file-digest.js';
import { SeededRandom } from '../../src/fs/seeded-random.js';
import { bytes, chunkDigests, chunkListHex, sha256 } from './io-fixtures.js';

const C = 4096;

for (const size of [0, 1, C - 1, C, C + 1, 5 * C + 17, 64 * C]) {
  test(`${size} bytes in chunks of ${C}: whole and chunk digests equal one-shot hashes, for any split into pieces`, () => {
    const data = bytes(size, size + 3);
    const random = new SeededRandom(size);
    for (let trial = 0; trial < 20; trial++) {
      const h = new ChunkedSha256(C);
      for (let at = 0; at < size; ) {
        const n = Math.min(size - at, 1 + random.nextInt(trial % 2 === 0 ? 2 * C : 600 * 1024));
        h.update(data.subarray(at, at + n));
        at += n;
      }
      const d = h.digest();
      assert.equal(d.sha256Hex, sha256(data));
      assert.equal(d.hash, `sha256:${sha256(data)}`);
      assert.deepEqual(d.chunks, chunkDigests(data, C), `trial ${trial}`);
      assert.equal(d.chunks!.sha256.length, Math.ceil(size / C), 'an empty file has no chunk; k·C bytes have k');
    }
  });

  test(`${size} bytes in chunks of ${C}, chunk digests only: the same chunks, and the hash derived from them`, () => {
    const data = bytes(size, size + 5);
    const random = new SeededRandom(size + 1);
    for (let trial = 0; trial < 10; trial++) {
      const h = new ChunkedSha256(C, false);
      for (let at = 0; at < size; ) {
        const n = Math.min(size - at, 1 + random.nextInt(3 * C));
        h.update(data.subarray(at, at + n));
        at += n;
      }
      const d = h.digest();
      assert.deepEqual(d.chunks, chunkDigests(data, C), `trial ${trial}`);
      assert.equal(d.sha256Hex, chunkListHex(data, C));
      // At most one chunk: the plain SHA-256, which `sha256sum` checks; more: the chunk-list hash.
      assert.equal(d.hash, size <= C ? `sha256:${sha256(data)}` : `sha256-chunks:${chunkListHex(data, C)}`);
    }
  });
}

test('the chunk-list hash changes with any chunk, with their order, and with a chunk split differently', () => {
  const data = bytes(3 * C, 4);
  const digest = (d: Uint8Array, c = C): string => {
    const h = new ChunkedSha256(c, false);
    h.update(d);
    return h.digest().hash;
  };
  const flipped = data.slice();
  flipped[2 * C + 7]! ^= 1;
  const swapped = Buffer.concat([data.subarray(C, 2 * C), data.subarray(0, C), data.subarray(2 * C)]);
  const seen = new Set([digest(data), digest(flipped), digest(swapped), digest(data, 2 * C)]);
  assert.equal(seen.size, 4);
}); 

test('without a chunk size, the whole-file hash only', () => {
  const h = new ChunkedSha256();
  h.update(bytes(10, 1));
  assert.deepEqual(h.digest(), { sha256Hex: sha256(bytes(10, 1)), hash: `sha256:${sha256(bytes(10, 1))}` });
});

test('a chunk digest is available once its last byte is in (an S3 part checksum), the last one at digest', () => {
  const data = bytes(2 * C + 5, 9);
  const h = new ChunkedSha256(C);
  h.update(data.subarray(0, C + 1));
  assert.equal(h.completedChunk(0), sha256(data.subarray(0, C)));
  assert.throws(() => h.completedChunk(1), (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
  h.update(data.subarray(C + 1));
  h.digest();
  assert.equal(h.completedChunk(2), sha256(data.subarray(2 * C)));
});

test('a chunk size that is not a positive integer is refused', () => {
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => new ChunkedSha256(bad), (e) => isHoldfastError(e, 'HF_INVALID_ARG'), String(bad));
});
