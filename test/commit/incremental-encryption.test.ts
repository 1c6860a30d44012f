/**
 * Incremental saves under encryption (incremental.ts, chunk-cipher.ts `plainDigest`): reuse is decided by
 * a keyed digest of the plaintext, which tells nothing to a reader without the key, and binds the kept
 * file to the secret itself, not to a key id anyone can choose.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { encryptionKey, openRecord, plainDigest, recordCount, recordPlace, recordStoredRange } from '../../src/format/chunk-cipher.js';
import type { Tensor } from '../../src/format/dtype.js';
import type { Manifest, ManifestFile } from '../../src/format/manifest-types.js';
import { openStore } from '../../src/store/open-store.js';
import { bigTensor } from '../helpers/big-tensor.js';
import { rewriteManifest } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors } from '../storage/conformance.js';

const SECRET = 'an encryption secret of at least 32 bytes';
const OTHER = 'another encryption secret, also 32+ bytes';
const ckpt = (dir: string, step: number): string => join(dir, `ckpt-${String(step).padStart(12, '0')}`);
const SMALL_SHARDS = { shardSizeBytes: 1 };

/** A frozen 1 MiB embedding and a tensor that changes every step. */
const tensors = (step: number): Record<string, Tensor> => ({ embed: bigTensor(1024 * 1024, 42), moving: sampleTensors(step)['f32.weight']! });

/** The plaintext of a stored file, opened record by record with `secret`. */
function decrypted(dir: string, step: number, m: Manifest, f: ManifestFile, secret: string): Buffer {
  const key = encryptionKey(new TextEncoder().encode(secret));
  const stored = readFileSync(join(ckpt(dir, step), f.path));
  const { plainSize, noncePrefix } = f.encrypted!;
  const records = recordCount(plainSize, m.encryption!.chunkBytes);
  const parts = Array.from({ length: records }, (_, i) => {
    const [b, e] = recordStoredRange(i, plainSize, m.encryption!.chunkBytes);
    return openRecord(key.key, recordPlace(f.path, noncePrefix, i, records), stored.subarray(b, e))!;
  });
  return Buffer.concat(parts);
}

describe('incremental saves under encryption', () => {
  test('plaintext equality is not visible without the key: identical tensors are stored as different bytes, and digests are keyed', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(dir, { encryption: { key: SECRET }, ...SMALL_SHARDS });
    t.after(() => store.close());
    const same = tensors(1);
    await store.save(1, { tensors: same });
    await store.save(2, { tensors: same });
    // Incremental, every save full: both write every file, each with its own digest.
    await store.save(3, { tensors: same }, { incremental: true, fullEvery: 1 });
    const fourth = await store.save(4, { tensors: same }, { incremental: true, fullEvery: 1 });
    assert.equal(fourth.keptBytes, 0);
    const ms = await Promise.all([1, 2, 3, 4].map((s) => store.inspect(s)));
    for (const f of ms[0]!.files) {
      const stored = [1, 2, 3, 4].map((s) => readFileSync(join(ckpt(dir, s), f.path)));
      for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) assert.ok(!stored[a]!.subarray(0, 4096).equals(stored[b]!.subarray(0, 4096)), `${f.path}: saves ${a + 1} and ${b + 1} store different bytes`);
    }
    assert.ok(ms[0]!.files.every((f) => f.encrypted!.plainDigest === undefined), 'no plaintext digest outside an incremental series');
    const [m3, m4] = [ms[2]!, ms[3]!];
    for (const f3 of m3.files) {
      const f4 = m4.files.find((f) => f.path === f3.path)!;
      assert.notEqual(f3.encrypted!.plainDigest, f4.encrypted!.plainDigest, `${f3.path}: the header names the writer's nonce, so digests never repeat`);
      // Keyed: the HMAC of the plaintext under the secret's digest subkey, which neither the plain SHA-256 nor another key gives.
      const plain = decrypted(dir, 3, m3, f3, SECRET);
      assert.equal(plain.byteLength, f3.encrypted!.plainSize);
      const dataStart = 8 + Number(plain.readBigUInt64LE(0));
      const [header, tensorsSha256] = [plain.subarray(0, dataStart), createHash('sha256').update(plain.subarray(dataStart)).digest()];
      assert.equal(f3.encrypted!.plainDigest, plainDigest(encryptionKey(new TextEncoder().encode(SECRET)), header, tensorsSha256));
      assert.notEqual(f3.encrypted!.plainDigest, plainDigest(encryptionKey(new TextEncoder().encode(OTHER)), header, tensorsSha256));
      assert.ok(!f3.encrypted!.plainDigest!.includes(createHash('sha256').update(plain).digest('hex')));
      assert.ok(!f3.encrypted!.plainDigest!.includes(tensorsSha256.toString('hex')));
    }
  });

  test('a parent under the same key id but another secret is not reused (the digest is keyed by the secret); the child restores', async (t) => {
    const dir = tempDir(t);
    const a = await openStore(dir, { encryption: { key: SECRET, keyId: 'ops-1' }, ...SMALL_SHARDS });
    await a.save(1, { tensors: tensors(1) }, { incremental: true });
    await a.close();
    const b = await openStore(dir, { encryption: { key: OTHER, keyId: 'ops-1' }, ...SMALL_SHARDS });
    t.after(() => b.close());
    const second = await b.save(2, { tensors: tensors(2) }, { incremental: true });
    assert.equal(second.keptBytes, 0);
    assertSameTensors((await b.restore(2)).tensors, tensors(2), 'the child, all written under its own secret');
    const third = await b.save(3, { tensors: tensors(3) }, { incremental: true });
    assert.ok(third.keptBytes! >= 1024 * 1024, `the same secret reuses again: kept ${third.keptBytes}`);
    assertSameTensors((await b.restore(3)).tensors, tensors(3), 'the grandchild');
  });

  test('saveAsync with deferred tensors: the digest is of the bytes sealed, and the next save keeps them', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(dir, { encryption: { key: SECRET }, ...SMALL_SHARDS });
    t.after(() => store.close());
    await store.saveAsync(1, { tensors: tensors(1) }, { incremental: true, stagingBudgetBytes: 0 }).committed;
    const second = await store.saveAsync(2, { tensors: tensors(2) }, { incremental: true, stagingBudgetBytes: 0 }).committed;
    assert.ok(second.keptBytes! >= 1024 * 1024, `kept ${second.keptBytes}`);
    assertSameTensors((await store.restore(2)).tensors, tensors(2), 'restored');
  });

  test('the digest is covered by the manifest hash; a malformed one is refused by name', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(dir, { encryption: { key: SECRET }, ...SMALL_SHARDS });
    t.after(() => store.close());
    await store.save(1, { tensors: tensors(1) }, { incremental: true });
    await store.save(2, { tensors: tensors(2) }, { incremental: true });
    const flip = (d: string): string => d.slice(0, -1) + (d.endsWith('0') ? '1' : '0');
    rewriteManifest(ckpt(dir, 1), (m) => (m.files[0]!.encrypted!.plainDigest = flip(m.files[0]!.encrypted!.plainDigest!)), false);
    const [r1] = await store.verify(1);
    assert.equal(r1!.ok, false);
    assert.match(JSON.stringify(r1!.problems), /manifest hash mismatch/);
    rewriteManifest(ckpt(dir, 2), (m) => (m.files[0]!.encrypted!.plainDigest = 'sha256:' + '0'.repeat(64)));
    const [r2] = await store.verify(2);
    assert.equal(r2!.ok, false);
    assert.match(JSON.stringify(r2!.problems), /encrypted\.plainDigest/);
  });
});
