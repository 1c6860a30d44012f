import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { sha256Hex } from '../../src/format/sha256.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/types.js';
import { readManifest, rewriteManifest } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

const SHARD = 'r0000-p000.safetensors';

async function oneCheckpoint(root: string): Promise<{ store: Store; dir: string }> {
  const store = await openStore(root);
  const res = await store.save(1, { tensors: sampleTensors() });
  return { store, dir: res.path };
}

async function firstProblem(store: Store) {
  const [report] = await store.verify(1);
  assert.equal(report!.ok, false, 'verification should fail');
  return report!.problems[0]!;
}

/**
 * Replaces the shard with `bytes` and re-records its size and hash (and drops the manifest's tensor
 * table, which would no longer fit the file), so only the shard's own header checks can object.
 */
function plantShard(dir: string, bytes: Uint8Array): void {
  writeFileSync(join(dir, SHARD), bytes);
  rewriteManifest(dir, (m) => {
    m.tensors = {};
    m.files[0]!.size = bytes.byteLength;
    m.files[0]!.hash = `sha256:${sha256Hex(bytes)}`;
  });
}

function shardWithHeader(header: unknown, dataBytes: number, lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]);
}

test('a store path that is a file is a usage error naming the path', async (t) => {
  const file = join(tempDir(t), 'not-a-dir');
  writeFileSync(file, 'x');
  await assert.rejects(openStore(file), (e) => isHoldfastError(e, 'HF_INVALID_ARG') && e.message.includes(file));
});

test('steps must be non-negative integers', async (t) => {
  const store = await openStore(tempDir(t));
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 60, '3' as unknown as number]) {
    await assert.rejects(store.save(bad, { state: null }), (e) => isHoldfastError(e, 'HF_INVALID_ARG'), String(bad));
  }
});

for (const [label, path] of [
  ['..', '../escape.safetensors'],
  ['an absolute path', '/etc/passwd'],
  ['NUL', 'r0000\u0000.safetensors'],
] as const) {
  test(`a manifest naming a file with ${label} is rejected as a bad manifest`, async (t) => {
    const { store, dir } = await oneCheckpoint(tempDir(t));
    rewriteManifest(dir, (m) => {
      m.files[0]!.path = path;
    });
    const p = await firstProblem(store);
    assert.equal(p.reason, 'bad-manifest');
  });
}

test('an unknown manifest major version is refused with a clear message', async (t) => {
  const { store, dir } = await oneCheckpoint(tempDir(t));
  rewriteManifest(dir, (m) => {
    m.version = '3.0';
  });
  const p = await firstProblem(store);
  assert.equal(p.reason, 'bad-manifest');
  assert.match(p.message, /3\.0/);
});

test('a safetensors header length larger than the file is caught', async (t) => {
  const { store, dir } = await oneCheckpoint(tempDir(t));
  plantShard(dir, shardWithHeader({}, 0, 1_000_000n));
  assert.equal((await firstProblem(store)).reason, 'bad-header');
});

test('a safetensors header length over 100 MB is caught', async (t) => {
  const { store, dir } = await oneCheckpoint(tempDir(t));
  plantShard(dir, shardWithHeader({}, 0, 200_000_000n));
  assert.equal((await firstProblem(store)).reason, 'bad-header');
});

test('a safetensors header that is not JSON is caught', async (t) => {
  const { store, dir } = await oneCheckpoint(tempDir(t));
  const bytes = Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{nope')]);
  plantShard(dir, bytes);
  assert.equal((await firstProblem(store)).reason, 'bad-header');
});

for (const [label, tensors, dataBytes] of [
  ['overlapping offsets', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12],
  ['out-of-bounds offsets', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4],
  ['offsets not matching dtype×shape', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8],
  ['an unsupported dtype', { a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, 8],
] as const) {
  test(`a shard header with ${label} is caught`, async (t) => {
    const { store, dir } = await oneCheckpoint(tempDir(t));
    plantShard(dir, shardWithHeader({ __metadata__: {}, ...tensors }, dataBytes));
    const p = await firstProblem(store);
    assert.equal(p.reason, 'bad-header');
    assert.ok(p.message.includes(SHARD), 'the message names the file');
  });
}

test('a shard copied in from another checkpoint is caught by its step/nonce metadata', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  const tensors = sampleTensors();
  const one = await store.save(1, { tensors });
  const two = await store.save(2, { tensors });
  // Same tensors, same layout: only the metadata differs. Re-record size and hash so nothing else objects.
  copyFileSync(join(one.path, SHARD), join(two.path, SHARD));
  const copied = readFileSync(join(two.path, SHARD));
  rewriteManifest(two.path, (m) => {
    m.files[0]!.hash = `sha256:${sha256Hex(copied)}`;
    m.files[0]!.size = statSync(join(two.path, SHARD)).size;
  });
  const [, report] = await store.verify();
  assert.equal(report!.problems[0]!.reason, 'foreign-shard');
  assert.equal((await store.latest())?.step, 1);
});

test('an edited manifest without a matching manifestHash is refused', async (t) => {
  const { store, dir } = await oneCheckpoint(tempDir(t));
  rewriteManifest(dir, (m) => {
    m.files[0]!.size += 1;
  }, false);
  const p = await firstProblem(store);
  assert.equal(p.reason, 'bad-manifest');
  assert.match(p.message, /hash/i);
  assert.equal(readManifest(dir).step, 1);
});

test('tensors with a wrong typed array, unknown dtype or wrong length are refused before anything is written', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  const cases = [
    { w: { dtype: 'F32', shape: [2], data: new Float64Array(2) } },
    { w: { dtype: 'Q4', shape: [2], data: new Uint8Array(2) } },
    { w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } },
  ];
  for (const tensors of cases) {
    await assert.rejects(store.save(1, { tensors: tensors as never }), (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
  }
  assert.deepEqual(await store.list(), []);
});

test('opening for reading never turns an ordinary directory into a store', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(openStore(dir, { create: false }), (e) => isHoldfastError(e, 'HF_NOT_FOUND') && e.message.includes(dir));
  assert.deepEqual(readdirSync(dir), []);
});

test('a state that is not plain JSON is refused before anything is written', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  const before = readdirSync(root).sort();
  for (const bad of [{ lr: Number.NaN }, { n: 10n }, { f: () => 1 }, { d: new Date(0) }]) {
    await assert.rejects(store.save(1, { state: bad as never }), (e: unknown) => isHoldfastError(e, 'HF_INVALID_ARG'));
  }
  assert.deepEqual(readdirSync(root).sort(), before);
  assert.deepEqual(await store.list(), []);
});
