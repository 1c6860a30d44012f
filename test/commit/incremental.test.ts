/** Reuse is decided on every byte: a tensor that differs only in its last chunk is written again, not kept. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { openStore } from '../../src/store/open-store.js';
import type { Tensor } from '../../src/format/dtype.js';

test('a multi-chunk tensor changed only in its last byte is written; an unchanged one is kept', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/data');
  const store = await openStore('/data/store', { fs });
  const big = new Uint8Array(9 * 1024 * 1024 + 123).map((_, i) => i & 0xff); // two 8 MiB chunks and a bit
  const same = new Uint8Array(5 * 1024 * 1024).fill(7);
  const tensors = (b: Uint8Array): Record<string, Tensor> => ({ big: { dtype: 'U8', shape: [b.length], data: b }, same: { dtype: 'U8', shape: [same.length], data: same } });
  await store.save(1, { tensors: tensors(big) }, { incremental: true });
  const changed = big.slice();
  changed[changed.length - 1]! ^= 1;
  const second = await store.save(2, { tensors: tensors(changed) }, { incremental: true });
  const m2 = await store.inspect(2);
  const sameFile = m2.files.find((f) => f.path === m2.tensors['same']!.slabs[0]!.file)!;
  assert.equal(sameFile.source?.step, 1, 'the unchanged tensor is kept');
  assert.equal(second.keptBytes, sameFile.size);
  const bigFile = m2.files.find((f) => f.path === m2.tensors['big']!.slabs[0]!.file)!;
  assert.equal(bigFile.source, undefined, 'the changed tensor is written');
  assert.equal(bigFile.chunks!.sha256.length, 2);
  const restored = await store.restore(2);
  assert.ok(Buffer.from(restored.tensors['big']!.data.buffer, restored.tensors['big']!.data.byteOffset, changed.length).equals(changed));
  await store.close();
});
