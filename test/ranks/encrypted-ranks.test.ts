// Encryption at rest for multi-rank stores, with real rank processes (keyed-rank-child.ts, the
// key from HOLDFAST_ENCRYPTION_KEY as the CLI reads it), on the local backend and on the real S3
// server: ranks seal their shard files and the leader records the key; restores with the key are
// bit-exact on the saving world size and on others (whole, and by layout); without it HF_KEY names
// the key id while verify, latest and rollback work; a rank with another key (or none) aborts the
// attempt naming both key ids, and nothing commits; no stored file holds a tensor's plaintext.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { encryptedSize, encryptionKey } from '../../src/format/chunk-cipher.js';
import { DEFAULT_CHUNK_BYTES } from '../../src/format/manifest-types.js';
import { openStorage, openStore } from '../../src/store/open-store.js';
import type { GlobalSlab } from '../../src/store/rank-store.js';
import type { GlobalContent } from '../../src/torture/ranks-content.js';
import { expectRejection } from '../format/fixtures.js';
import { flipBit } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { s3Suite } from '../helpers/s3-server.js';
import { bytesOf } from '../helpers/tensors.js';
import { cutPart } from '../restore/sharded-fixture.js';
import { assertSameTensors } from '../storage/conformance.js';
import { BIG_PER_RANK, encryptedContent, encryptedRankInput } from './encrypted-content.js';
import type { KeyedRankResult } from './keyed-rank-child.js';
import { assertAllCommitted, runKeyedRanks, type RankRun } from './keyed-ranks.js';

const KEY = 'an encryption secret of at least 32 bytes';
const OTHER = 'another encryption secret, also 32+ bytes';
const SEED = 5;
const keyIdOf = (secret: string): string => encryptionKey(new TextEncoder().encode(secret)).keyId;

/** Runs one rank process per entry of `keys` (undefined: no key in its environment); their results by rank. */
function saveWithRanks(where: string, attempt: string, step: number, keys: (string | undefined)[], resume?: RankRun['resume']): Promise<KeyedRankResult[]> {
  const envs = keys.map((key) => (key === undefined ? {} : { HOLDFAST_ENCRYPTION_KEY: key }));
  return runKeyedRanks({ where, attempt, step, seed: SEED, big: true, ...(resume === undefined ? {} : { resume }) }, envs);
}

/** The stored bytes of every file of checkpoint `step`, by path, read through the storage (no key, no decryption). */
async function storedFiles(where: string, step: number): Promise<Map<string, Uint8Array>> {
  const storage = await openStorage(where);
  try {
    const store = await openStore({ storage });
    const manifest = await store.inspect(step);
    const reader = (await storage.open(step))!;
    const out = new Map<string, Uint8Array>();
    for (const f of manifest.files) out.set(f.path, await reader.readSmallFile(f.path, f.size));
    return out;
  } finally {
    await storage.close?.();
  }
}

/** Byte strings a rank's files hold in plaintext: its row slab and a window of its `big` slab. */
function needles(content: GlobalContent, worldSize: number): Buffer[] {
  return Array.from({ length: worldSize }, (_, rank) => {
    const input = encryptedRankInput(content, rank, worldSize);
    const slab = (name: string): Buffer => bytesOf((input.slabs![name] as GlobalSlab).tensor);
    const big = slab('big');
    return [slab('rows'), big.subarray(DEFAULT_CHUNK_BYTES - 40, DEFAULT_CHUNK_BYTES + 40)];
  }).flat();
}

function contains(haystack: Uint8Array, needle: Buffer): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).includes(needle);
}

function localScratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-enc-ranks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The same checks on one backend; `damage(location)` flips a stored byte of the file at that location. */
function encryptedRanksSuite(where: string, damage: (location: string) => Promise<void>): void {
  const keyed = { encryption: { key: KEY } };
  const content1 = encryptedContent(SEED, 1, 4);

  test('4 rank processes save encrypted: the manifest names the key, every file is sealed, no stored file holds plaintext', async (t) => {
    assertAllCommitted(await saveWithRanks(where, 'job-1', 1, [KEY, KEY, KEY, KEY]));
    const plain = await openStore(where);
    try {
      const m = await plain.inspect(1);
      assert.deepEqual(m.encryption, { alg: 'aes-256-gcm', keyId: keyIdOf(KEY), chunkBytes: DEFAULT_CHUNK_BYTES });
      assert.deepEqual([...new Set(m.files.map((f) => f.rank))].sort(), [0, 1, 2, 3]);
      for (const f of m.files) {
        assert.ok(f.encrypted !== undefined, `${f.path} is sealed`);
        assert.equal(f.size, encryptedSize(f.encrypted.plainSize, DEFAULT_CHUNK_BYTES), `${f.path}: stored size`);
      }
      assert.ok(m.files.filter((f) => f.encrypted!.plainSize > BIG_PER_RANK).length >= 4, 'each rank sealed a file of several records');
    } finally {
      await plain.close();
    }
    // The needles are in the plaintext files (copied out with the key) and in no stored file.
    const out = tempDir(t);
    const store = await openStore(where, keyed);
    const { files } = await store.restoreFiles(1, out);
    await store.close();
    const plaintexts = files.map((f) => readFileSync(f));
    const stored = [...(await storedFiles(where, 1)).values()];
    for (const needle of needles(content1, 4)) {
      assert.ok(plaintexts.some((p) => contains(p, needle)), 'the plaintext holds the needle (the check can fail)');
      assert.ok(!stored.some((s) => contains(s, needle)), 'no stored file holds plaintext tensor bytes');
    }
  });

  test('with the key: bit-exact on the saving world size and on 3 ranks (whole, and each rank by layout); without it HF_KEY naming the key id, while verify and latest need none', async () => {
    for (const [worldSize, rank] of [[4, 3], [3, 1]] as const) {
      const rs = await openStore(where, { ...keyed, rank, worldSize, attempt: `reader-${worldSize}` });
      try {
        const r = await rs.restore();
        assert.equal(r.step, 1);
        assert.equal(r.savedWorldSize, 4);
        assertSameTensors(r.tensors, content1.tensors, `restored by rank ${rank} of ${worldSize}`);
        assert.deepEqual(r.rankState, [0, 1, 2, 3].map((k) => ({ rank: k, rng: [SEED, k] })));
      } finally {
        await rs.close();
      }
    }
    const store = await openStore(where, keyed);
    try {
      const big = content1.tensors['big']!;
      const rows = content1.tensors['rows']!;
      for (let rank = 0; rank < 3; rank++) {
        const flat: [number, number] = [Math.floor((rank * big.shape[0]!) / 3), Math.floor(((rank + 1) * big.shape[0]!) / 3)];
        const box = { offset: [3 * rank, 0], shape: [3, 5] };
        const r = await store.restore({ step: 1, layout: { big: { flat }, rows: box } });
        assert.ok(bytesOf(r.tensors['big']!).equals(cutPart(big, { flat })), `big part of rank ${rank} of 3: across records and files`);
        assert.ok(bytesOf(r.tensors['rows']!).equals(cutPart(rows, box)), `rows part of rank ${rank} of 3`);
      }
    } finally {
      await store.close();
    }
    const keyless = await openStore(where);
    const keylessRank = await openStore(where, { rank: 1, worldSize: 2, attempt: 'keyless' });
    try {
      assert.deepEqual((await keyless.verify()).map((r) => [r.step, r.ok]), [[1, true]]);
      assert.equal((await keyless.latest())?.step, 1);
      await expectRejection(keyless.restore(), 'HF_KEY', keyIdOf(KEY));
      await expectRejection(keylessRank.restore(), 'HF_KEY', keyIdOf(KEY));
      const wrong = await openStore(where, { encryption: { key: OTHER } });
      await expectRejection(wrong.restore(), 'HF_KEY', keyIdOf(KEY), keyIdOf(OTHER));
      await wrong.close();
      assert.deepEqual((await keyless.list()).map((c) => c.step), [1], 'nothing quarantined');
    } finally {
      await keyless.close();
      await keylessRank.close();
    }
  });

  test('a rank with another key, and one with none: the leader refuses them by rank and key id, every rank rejects, nothing commits', async () => {
    const results = await saveWithRanks(where, 'job-2', 2, [KEY, undefined, OTHER]);
    for (const r of results) assert.ok(r.outcome === 'rejected' && r.code === 'HF_ABORTED', `rank ${r.rank}: ${r.outcome} ${r.code}: ${r.message}`);
    for (const r of results) {
      assert.ok(r.message!.includes(`rank 2 encrypts with key ${keyIdOf(OTHER)}`), r.message);
      assert.ok(r.message!.includes(`the leader (rank 0) with key ${keyIdOf(KEY)}`), r.message);
      assert.match(r.message!, /rank 1 encrypts with no key/);
    }
    const plain = await openStore(where);
    try {
      assert.deepEqual((await plain.list()).map((c) => c.step), [1]);
      assert.equal((await plain.latest())?.step, 1);
    } finally {
      await plain.close();
    }
  });

  test('2 rank processes resume from the 4-rank checkpoint and save encrypted; 3 ranks restore it bit-exact; a damaged stored byte is rolled back over without the key', async () => {
    const results = await saveWithRanks(where, 'job-3', 3, [KEY, KEY], { step: 1, worldSize: 4 });
    assertAllCommitted(results);
    for (const r of results) assert.deepEqual(r.resumed, { step: 1, difference: null }, `rank ${r.rank} of 2 restored the 4-rank checkpoint bit-exact`);
    const rs = await openStore(where, { ...keyed, rank: 2, worldSize: 3, attempt: 'reader-3b' });
    try {
      const r = await rs.restore();
      assert.equal(r.step, 3);
      assertSameTensors(r.tensors, encryptedContent(SEED, 3, 2).tensors, 'saved on 2 ranks, restored on 3');
    } finally {
      await rs.close();
    }
    const keyless = await openStore(where);
    try {
      const m = await keyless.inspect(3);
      const storage = await openStorage(where);
      const location = (await storage.open(3))!.locate(m.files.find((f) => f.rank === 1)!.path);
      await storage.close?.();
      await damage(location);
      const latest = await keyless.latest();
      assert.equal(latest?.step, 1, 'rolled back over the damaged checkpoint, with no key');
      assert.deepEqual(latest?.skipped.map((s) => s.step), [3]);
    } finally {
      await keyless.close();
    }
    const store = await openStore(where, keyed);
    try {
      const r = await store.restore();
      assert.equal(r.step, 1);
      assertSameTensors(r.tensors, content1.tensors, 'the previous checkpoint, with the key');
    } finally {
      await store.close();
    }
  });
}

describe('encrypted multi-rank saves on a local store', () => {
  const root = join(localScratch(), 'store');
  encryptedRanksSuite(root, async (location) => flipBit(location, 100));
});

s3Suite('encrypted multi-rank saves on S3', (b) => {
  const where = `s3://${b.bucket}/enc-ranks`;
  encryptedRanksSuite(where, (location) => flipObjectByte(b.admin, location));
});

async function flipObjectByte(admin: S3Client, location: string): Promise<void> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  assert.ok(m !== null, `an s3:// location: ${location}`);
  const [bucket, key] = [m[1]!, m[2]!];
  const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await got.Body!.transformToByteArray();
  bytes[100] = bytes[100]! ^ 1;
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
}
