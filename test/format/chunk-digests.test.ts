import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import { chunkDigestsOf } from '../../src/format/chunk-digests.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('chunk digests do not depend on how the bytes are split into parts', () => {
  const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
  const expected = [sha(bytes.subarray(0, 4096)), sha(bytes.subarray(4096, 8192)), sha(bytes.subarray(8192))];
  for (const cuts of [[], [1], [4095, 4096, 4097], [100, 5000, 9999]]) {
    const parts: Uint8Array[] = [];
    let at = 0;
    for (const c of [...cuts, bytes.byteLength]) {
      parts.push(bytes.subarray(at, c));
      at = c;
    }
    assert.deepEqual(chunkDigestsOf(parts, 4096), { bytes: 4096, sha256: expected }, `cuts ${cuts.join(',')}`);
  }
  assert.deepEqual(chunkDigestsOf([bytes.subarray(0, 8192)], 4096).sha256.length, 2, 'an exact multiple has no empty last chunk');
  assert.deepEqual(chunkDigestsOf([new Uint8Array(0)], 4096).sha256, [], 'an empty file has none');
});
