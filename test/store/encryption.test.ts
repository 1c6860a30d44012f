import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { encryptionFromEnv } from '../../src/store/encryption-keys.js';
import type { StoreEvent } from '../../src/store/types.js';
import type { Tensor } from '../../src/format/dtype.js';
import { DEFAULT_CHUNK_BYTES } from '../../src/format/manifest-types.js';
import { TAG_BYTES } from '../../src/format/chunk-cipher.js';
import { expectRejection } from '../format/fixtures.js';
import { bigTensor } from '../helpers/big-tensor.js';
import { bindFile, flipBit, readManifest, rewriteManifest } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';

const KEY = 'an encryption secret of at least 32 bytes';
const OTHER = 'another encryption secret, also 32+ bytes';
const RECORD = DEFAULT_CHUNK_BYTES + TAG_BYTES;
const ckpt = (dir: string, step: number): string => join(dir, `ckpt-${String(step).padStart(12, '0')}`);

/** Two shard files of two records each (9 MiB tensors, 12 MiB shards), and every dtype in small tensors. */
function tensors(seed: number): Record<string, Tensor> {
  return { ...sampleTensors(seed), a: bigTensor(9 * 1024 * 1024, seed), b: bigTensor(9 * 1024 * 1024, seed + 100) };
}
const SHARDS = { shardSizeBytes: 12 * 1024 * 1024 };

function assertSame(got: Record<string, Tensor>, want: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const name of Object.keys(want)) assert.ok(bytesOf(got[name]!).equals(bytesOf(want[name]!)), `tensor ${name} bit-exact`);
}

function shardFiles(dir: string, step: number): string[] {
  return readdirSync(ckpt(dir, step)).filter((f) => f.endsWith('.safetensors')).sort();
}

/** Swaps `length` bytes at `at` in file `a` with those at `bt` in file `b` (maybe the same file). */
function swapBytes(a: string, at: number, b: string, bt: number, length: number): void {
  const fa = readFileSync(a);
  const fb = a === b ? fa : readFileSync(b);
  const x = Buffer.from(fa.subarray(at, at + length));
  fa.set(fb.subarray(bt, bt + length), at);
  fb.set(x, bt);
  writeFileSync(a, fa);
  if (a !== b) writeFileSync(b, fb);
}

/** Records the files' current bytes in the manifest (digests, hash), resealed: only the ciphers can object. */
function rebind(dir: string, step: number): void {
  rewriteManifest(ckpt(dir, step), (m) => {
    for (const f of m.files) bindFile(f, readFileSync(join(ckpt(dir, step), f.path)));
  });
}

describe('encryption at rest', () => {
  test('round trip bit-exact (whole, into, by layout, opaque files); no plaintext on disk; the manifest names the key', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(dir, { encryption: { key: KEY }, ...SHARDS });
    t.after(() => store.close());
    const want = tensors(1);
    await store.save(1, { tensors: want, state: { lr: 0.1 } });
    const m = await store.inspect(1);
    assert.equal(m.encryption?.alg, 'aes-256-gcm');
    assert.match(m.encryption!.keyId, /^aes-[0-9a-f]{16}$/);
    assert.equal(m.files.length, 2);
    for (const f of m.files) {
      const stored = readFileSync(join(ckpt(dir, 1), f.path));
      assert.equal(stored.byteLength, f.encrypted!.plainSize + 2 * TAG_BYTES);
      assert.equal(stored.indexOf(Buffer.from(bytesOf(want.a!).subarray(4096, 4096 + 64))), -1, 'tensor bytes are not stored in the clear');
      assert.equal(stored.indexOf(Buffer.from('"dtype"')), -1, 'nor is the safetensors header');
    }
    const restored = await store.restore();
    assertSame(restored.tensors, want);
    assert.deepEqual(restored.state, { lr: 0.1 });

    const into = Object.fromEntries(Object.entries(want).map(([n, t]) => [n, new (t.data.constructor as new (n: number) => Tensor['data'])(t.data.length)]));
    const intoRestored = await store.restore({ into });
    assertSame(intoRestored.tensors, want);

    // A range across the record boundary at 8 MiB, and one in the short last record.
    const parts = await store.restore({ layout: { a: { offset: [DEFAULT_CHUNK_BYTES - 1000], shape: [2000] }, b: { offset: [9 * 1024 * 1024 - 10], shape: [10] }, 'f32.weight': { offset: [1, 0], shape: [2, 5] } } });
    assert.ok(bytesOf(parts.tensors.a!).equals(bytesOf(want.a!).subarray(DEFAULT_CHUNK_BYTES - 1000, DEFAULT_CHUNK_BYTES + 1000)));
    assert.ok(bytesOf(parts.tensors.b!).equals(bytesOf(want.b!).subarray(9 * 1024 * 1024 - 10)));
    assert.deepEqual(Array.from(parts.tensors['f32.weight']!.data as Float32Array), Array.from((want['f32.weight']!.data as Float32Array).subarray(5, 15)));

    // saveAsync: the staged (shared-memory) snapshot is what gets sealed.
    const later = tensors(3);
    await store.saveAsync(3, { tensors: later }).committed;
    assertSame((await store.restore(3)).tensors, later);

    const src = tempDir(t);
    const opaque = Buffer.from(bigTensor(DEFAULT_CHUNK_BYTES + 5, 7).data as Uint8Array);
    writeFileSync(join(src, 'opt.bin'), opaque);
    writeFileSync(join(src, 'empty.bin'), '');
    await store.commitFiles(2, [join(src, 'opt.bin'), join(src, 'empty.bin')]);
    assert.ok(!readFileSync(join(ckpt(dir, 2), 'opt.bin')).subarray(0, 4096).equals(opaque.subarray(0, 4096)));
    const out = join(tempDir(t), 'out');
    await store.restoreFiles(2, out);
    assert.ok(readFileSync(join(out, 'opt.bin')).equals(opaque));
    assert.equal(readFileSync(join(out, 'empty.bin')).byteLength, 0);
    assert.ok((await store.verify()).every((r) => r.ok));
  });

  test('records swapped within a file or between files, digests recomputed, do not decrypt: refused, never returned as tensors', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(dir, { encryption: { key: KEY }, ...SHARDS });
    t.after(() => store.close());
    await store.save(1, { tensors: tensors(1) });
    await store.save(2, { tensors: tensors(2) });
    const [a] = shardFiles(dir, 1).map((f) => join(ckpt(dir, 1), f));
    // Reorder: the two records of one file exchange places (the second is short: swap its head only).
    const len = readFileSync(a!).byteLength - RECORD;
    swapBytes(a!, 0, a!, RECORD, len);
    rebind(dir, 1);
    await expectRejection(store.restore(1), 'HF_KEY', /record [01] of r0000-p000.safetensors/, 'does not authenticate');
    const [c, d] = shardFiles(dir, 2).map((f) => join(ckpt(dir, 2), f));
    // Swap: record 0 of one file for record 0 of the other, same length.
    swapBytes(c!, 0, d!, 0, RECORD);
    rebind(dir, 2);
    await expectRejection(store.restore(2), 'HF_KEY', 'does not authenticate');
    await expectRejection(store.restore({ step: 2, layout: { a: { offset: [0], shape: [16] } } }), 'HF_KEY', 'does not authenticate');
    assert.deepEqual((await store.list()).map((i) => i.step), [1, 2], 'refused, not quarantined');
  });

  test('verify with the key authenticates every record: a rewritten record past the first, digests recomputed, is HF_KEY naming it', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(dir, { encryption: { key: KEY }, ...SHARDS });
    t.after(() => store.close());
    await store.save(1, { tensors: tensors(1) });
    const [a] = shardFiles(dir, 1).map((f) => join(ckpt(dir, 1), f));
    flipBit(a!, RECORD + 12345);
    rebind(dir, 1);
    // The header lives in record 0, which still opens: only a pass over every record finds this.
    await expectRejection(store.verify(1), 'HF_KEY', /record 1 of r0000-p000.safetensors/);
    const keyless = await openStore(dir);
    t.after(() => keyless.close());
    assert.ok((await keyless.verify(1)).every((r) => r.ok), 'without the key only the stored bytes are checked, and they match');
    assert.deepEqual((await store.list()).map((i) => i.step), [1], 'never quarantined');
  });

  test('the same swap without recomputed digests is corruption: quarantined and rolled back over', async (t) => {
    const dir = tempDir(t);
    const events: StoreEvent[] = [];
    const store = await openStore(dir, { encryption: { key: KEY }, ...SHARDS, onEvent: (e) => events.push(e) });
    t.after(() => store.close());
    await store.save(1, { tensors: tensors(1) });
    await store.save(2, { tensors: tensors(2) });
    const [c, d] = shardFiles(dir, 2).map((f) => join(ckpt(dir, 2), f));
    swapBytes(c!, 0, d!, 0, RECORD);
    const restored = await store.restore();
    assert.equal(restored.step, 1);
    assertSame(restored.tensors, tensors(1));
    assert.ok(events.some((e) => e.type === 'quarantined' && e.step === 2));
  });

  test('a flipped ciphertext byte is corruption (found without the key); a restore rolls back over it', async (t) => {
    const dir = tempDir(t);
    const events: StoreEvent[] = [];
    const writer = await openStore(dir, { encryption: { key: KEY }, ...SHARDS });
    await writer.save(1, { tensors: tensors(1) });
    await writer.save(2, { tensors: tensors(2) });
    await writer.close();
    flipBit(join(ckpt(dir, 2), shardFiles(dir, 2)[1]!), RECORD + 100);
    const keyless = await openStore(dir);
    const [r1, r2] = await keyless.verify();
    assert.equal(r1!.ok, true);
    assert.equal(r2!.ok, false);
    assert.match(r2!.problems[0]!.message, /chunk 1 .* SHA-256 mismatch/);
    await keyless.close();
    const store = await openStore(dir, { encryption: { key: KEY }, onEvent: (e) => events.push(e) });
    t.after(() => store.close());
    const restored = await store.restore();
    assert.equal(restored.step, 1);
    assertSame(restored.tensors, tensors(1));
    assert.ok(events.some((e) => e.type === 'quarantined' && e.step === 2));
  });

  test('a missing key is HF_KEY naming the key id: no quarantine, no rollback to an older plain checkpoint; verify and latest need no key', async (t) => {
    const dir = tempDir(t);
    const plain = await openStore(dir);
    await plain.save(1, { tensors: sampleTensors(1) });
    await plain.close();
    const writer = await openStore(dir, { encryption: { key: KEY } });
    await writer.save(2, { tensors: sampleTensors(2) });
    const keyId = (await writer.inspect(2)).encryption!.keyId;
    assert.equal((await writer.restore(1)).step, 1, 'a keyed store still reads plain checkpoints');
    await writer.close();

    const events: StoreEvent[] = [];
    const keyless = await openStore(dir, { onEvent: (e) => events.push(e) });
    t.after(() => keyless.close());
    await expectRejection(keyless.restore(), 'HF_KEY', `encrypted with key ${keyId}`, 'no encryption key is configured');
    await expectRejection(keyless.restore({ layout: { 'f32.weight': { offset: [0, 0], shape: [1, 5] } } }), 'HF_KEY', keyId);
    await expectRejection(keyless.restoreFiles(2, join(tempDir(t), 'out')), 'HF_KEY', keyId);
    assert.equal((await keyless.latest())?.step, 2);
    assert.ok((await keyless.verify()).every((r) => r.ok));
    assert.deepEqual(events, []);
    assert.deepEqual((await keyless.list()).map((i) => i.step), [1, 2]);
  });

  test('another key is HF_KEY naming both ids; a key given under the recorded id that is not it fails on the first record; the right key still restores', async (t) => {
    const dir = tempDir(t);
    const writer = await openStore(dir, { encryption: { key: KEY } });
    await writer.save(1, { tensors: sampleTensors(1) });
    await writer.save(2, { tensors: sampleTensors(2) });
    const keyId = (await writer.inspect(2)).encryption!.keyId;
    await writer.close();
    const events: StoreEvent[] = [];
    const wrong = await openStore(dir, { encryption: { key: OTHER }, onEvent: (e) => events.push(e) });
    await expectRejection(wrong.restore(), 'HF_KEY', `encrypted with key ${keyId}`, 'the configured key is aes-');
    await wrong.close();
    const impostor = await openStore(dir, { encryption: { key: OTHER, keyId }, onEvent: (e) => events.push(e) });
    await expectRejection(impostor.restore(), 'HF_KEY', `key given as ${keyId}`, 'does not authenticate');
    await impostor.close();
    assert.deepEqual(events, [], 'nothing quarantined');
    const right = await openStore(dir, { encryption: encryptionFromEnv({ HOLDFAST_ENCRYPTION_KEY: KEY })! });
    t.after(() => right.close());
    const restored = await right.restore();
    assert.equal(restored.step, 2);
    assertSame(restored.tensors, sampleTensors(2));
  });

  test('the manifest binds encryption: removing it, or a file\'s record, is a bad manifest; a short secret is refused', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(dir, { encryption: { key: KEY } });
    t.after(() => store.close());
    await store.save(1, { tensors: sampleTensors(1) });
    await store.save(2, { tensors: sampleTensors(2) });
    assert.ok(readManifest(ckpt(dir, 2)).files[0]!.encrypted);
    rewriteManifest(ckpt(dir, 2), (m) => {
      delete m.encryption;
    });
    const [, r2] = await store.verify();
    assert.equal(r2!.problems[0]!.reason, 'bad-manifest');
    assert.match(r2!.problems[0]!.message, /has no "encryption"/);
    await expectRejection(openStore(tempDir(t), { encryption: { key: 'short' } }), 'HF_INVALID_ARG', 'at least 32 bytes');
  });
});
