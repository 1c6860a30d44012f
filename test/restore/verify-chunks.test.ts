/**
 * Manifest 2.0 chunk digests end to end on a local store: every writer records one digest per
 * 8 MiB chunk (files of 0, 1, C−1, C and C+1 bytes, a shard spanning chunks), `verify` level full
 * checks them in the same read as the whole-file hash and names the damaged chunk and its byte
 * range, and a 1.0 checkpoint (no chunks) still verifies and restores.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { DEFAULT_CHUNK_BYTES, MANIFEST_VERSION } from '../../src/format/manifest-types.js';
import { openStore } from '../../src/store/open-store.js';
import { asVersion1, flipBit, readManifest, rewriteManifest } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors } from '../storage/conformance.js';

const C = DEFAULT_CHUNK_BYTES;
const SIZES = [0, 1, C - 1, C, C + 1];

function chunkDigestsOf(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += C) out.push(createHash('sha256').update(bytes.subarray(at, at + C)).digest('hex'));
  return out;
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >>> 13)) & 0xff;
  return b;
}

async function committedFiles(t: test.TestContext) {
  const root = tempDir(t);
  const src = tempDir(t);
  const paths = SIZES.map((n, i) => {
    const p = join(src, `f${n}.bin`);
    writeFileSync(p, pattern(n, i));
    return p;
  });
  const store = await openStore(root);
  const saved = await store.commitFiles(1, paths);
  return { store, saved, paths };
}

test('commitFiles of 0, 1, C−1, C and C+1 bytes: version 2.0, one digest per chunk, each the SHA-256 of its bytes', async (t) => {
  const { store, saved, paths } = await committedFiles(t);
  const m = readManifest(saved.path);
  assert.equal(m.version, MANIFEST_VERSION);
  assert.equal(m.provenance.node, process.version);
  assert.equal(m.provenance.platform, `${process.platform}-${process.arch}`);
  for (const [i, n] of SIZES.entries()) {
    const f = m.files.find((x) => x.path === `f${n}.bin`)!;
    assert.equal(f.chunks!.bytes, C);
    assert.equal(f.chunks!.sha256.length, Math.ceil(n / C), `${n} bytes`);
    assert.deepEqual(f.chunks!.sha256, chunkDigestsOf(readFileSync(paths[i]!)), `${n} bytes`);
  }
  assert.deepEqual((await store.verify(1)).map((r) => r.ok), [true]);
});

test('one damaged byte in the second chunk: verify names the file, chunk 1 and its byte range; restoreFiles refuses it', async (t) => {
  const { store, saved } = await committedFiles(t);
  flipBit(join(saved.path, `f${C + 1}.bin`), C, 2);
  const [report] = await store.verify(1);
  assert.equal(report!.ok, false);
  const problem = report!.problems[0]!;
  assert.equal(problem.file, `f${C + 1}.bin`);
  assert.equal(problem.reason, 'hash');
  assert.deepEqual(problem.chunk, { index: 1, byteRange: [C, C + 1] });
  assert.match(problem.message, new RegExp(`f${C + 1}\\.bin: chunk 1 \\(bytes ${C}\\.\\.${C + 1}\\) SHA-256 mismatch`));
});

test('a shard spanning chunks: damage in its first chunk is named, restore rolls back to the previous step bit-exact', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  const big = { w: { dtype: 'U8' as const, shape: [C + 4096], data: pattern(C + 4096, 5) } };
  await store.save(1, { tensors: sampleTensors(1), state: 1 });
  const second = await store.save(2, { tensors: big, state: 2 });
  const shard = readManifest(second.path).files[0]!;
  assert.equal(shard.chunks!.sha256.length, 2);
  flipBit(join(second.path, shard.path), 1000, 0);
  const [, report] = await store.verify();
  assert.deepEqual(report!.problems[0]!.chunk, { index: 0, byteRange: [0, C] });
  const restored = await store.restore();
  assert.equal(restored.step, 1);
  assertSameTensors(restored.tensors, sampleTensors(1), 'rolled back');
});

test('a manifest whose chunk digest disagrees with intact bytes (re-sealed) fails verification on that chunk', async (t) => {
  const { store, saved } = await committedFiles(t);
  rewriteManifest(saved.path, (m) => {
    m.files.find((f) => f.path === `f${C}.bin`)!.chunks!.sha256[0] = '0'.repeat(64);
  });
  const [report] = await store.verify(1);
  assert.deepEqual(report!.problems.map((p) => [p.file, p.chunk?.index]), [[`f${C}.bin`, 0]]);
});

test('a 1.0 checkpoint (no chunk digests) still verifies and restores', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  const saved = await store.save(3, { tensors: sampleTensors(3), state: { v: 1 } });
  rewriteManifest(saved.path, (m) => asVersion1(m, (f) => readFileSync(join(saved.path, f))));
  const reopened = await openStore(root);
  assert.equal((await reopened.inspect(3)).version, '1.0');
  assert.deepEqual((await reopened.verify(3)).map((r) => r.ok), [true]);
  assertSameTensors((await reopened.restore(3)).tensors, sampleTensors(3), '1.0 restore');
});
