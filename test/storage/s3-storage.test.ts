// S3Storage against a real S3-compatible server (Ceph RGW from `bash scripts/s3-test-server.sh
// start`), never a mock of the SDK: the store conformance suite (with a crash, a failure and a lost
// response at every call of a save, injected around the real client), an exclusive-commit race of many
// writers, then what the server itself must do for the layout to hold (conditional PUT, the
// conditional delete's compare-and-swap, ranges, multipart; the integrity header is in s3-upload.test.ts).
// Without the server (AWS_ENDPOINT_URL unset) the suite is skipped, except under CI, where that fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test, { describe } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { commitCheckpoint } from '../../src/commit/commit-checkpoint.js';
import { planShards } from '../../src/commit/plan-shards.js';
import { isHoldfastError } from '../../src/errors.js';
import { checkpointDirName } from '../../src/format/names.js';
import { newNonce } from '../../src/format/nonce.js';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { ObjectStorage } from '../../src/storage/object-storage.js';
import { S3Storage, parseS3Url, s3ClientConfigFromEnv } from '../../src/storage/s3-storage.js';
import { openStore } from '../../src/store/open-store.js';
import { sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors, storageConformance, type StorageFixture } from './conformance.js';
import { FaultyObjectClient, OBJECT_FAULTS } from './faulty-object-client.js';
import { s3Suite } from '../helpers/s3-server.js';

test('s3:// store URLs: bucket and a "/"-terminated prefix; malformed ones refused', () => {
  assert.deepEqual(parseS3Url('s3://bucket'), { bucket: 'bucket', prefix: '' });
  assert.deepEqual(parseS3Url('s3://bucket/'), { bucket: 'bucket', prefix: '' });
  assert.deepEqual(parseS3Url('s3://my.bucket-1/runs/a'), { bucket: 'my.bucket-1', prefix: 'runs/a/' });
  assert.deepEqual(parseS3Url('s3://bucket/runs/a/'), { bucket: 'bucket', prefix: 'runs/a/' });
  for (const bad of ['s3://', 's3://B', 's3://bucket/a//b', 's3://bucket/../x', 'http://bucket/x']) {
    assert.throws(() => parseS3Url(bad), (e) => isHoldfastError(e, 'HF_INVALID_ARG'), bad);
  }
});

test('client settings from the environment: path style with a custom endpoint, bounded retries, checksum mode', () => {
  assert.equal(s3ClientConfigFromEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:7480' }).forcePathStyle, true);
  assert.equal(s3ClientConfigFromEnv({}).forcePathStyle, false);
  assert.equal(s3ClientConfigFromEnv({ AWS_ENDPOINT_URL: 'http://x', HOLDFAST_S3_FORCE_PATH_STYLE: '0' }).forcePathStyle, false);
  assert.equal(s3ClientConfigFromEnv({ HOLDFAST_S3_FORCE_PATH_STYLE: '1' }).forcePathStyle, true);
  assert.equal(s3ClientConfigFromEnv({}).maxAttempts, 5);
  assert.equal(s3ClientConfigFromEnv({ AWS_MAX_ATTEMPTS: '2' }).maxAttempts, 2);
  assert.equal(s3ClientConfigFromEnv({}).requestChecksumCalculation, 'WHEN_REQUIRED');
  assert.equal(s3ClientConfigFromEnv({ AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_SUPPORTED' }).requestChecksumCalculation, undefined);
});

s3Suite('S3Storage against a real server', ({ bucket, admin, storage: s3Storage }) => {
  /** The key of file `name` of committed `step` under `prefix` (the manifest names its attempt's nonce). */
  async function keyOf(storage: S3Storage, prefix: string, step: number, name: string): Promise<string> {
    const manifestKey = `${prefix}${checkpointDirName(step)}/manifest.json`;
    if (name === 'manifest.json') return manifestKey;
    const got = await storage.client.get(manifestKey);
    const nonce = (JSON.parse(new TextDecoder().decode(got!.bytes)) as { nonce: string }).nonce;
    return `${prefix}${checkpointDirName(step)}/${nonce}/${name}`;
  }

  storageConformance('S3Storage on a real server', async (): Promise<StorageFixture> => {
    const prefix = `conformance/${newNonce()}/`;
    const sourceFs = new MemoryFileSystem();
    await sourceFs.mkdir('/scratch');
    return {
      open: () => Promise.resolve(s3Storage(prefix)),
      corrupt: async (step, name) => {
        const storage = s3Storage(prefix);
        const key = await keyOf(storage, prefix, step, name);
        const bytes = (await storage.client.get(key))!.bytes;
        bytes[Math.floor(bytes.byteLength / 2)]! ^= 1;
        await storage.client.put(key, bytes);
      },
      sourceFs,
      scratch: '/scratch',
      // Real requests up to the fault: what a process dying (or losing a response) there leaves on the server.
      crashModes: Object.keys(OBJECT_FAULTS),
      // Every call of every mode is ~5 minutes against the server: sampled here, whole with HOLDFAST_FULL_CAMPAIGNS=1.
      gcCampaignSample: { modes: ['crash', 'lost-response'], stride: 10 },
      crashing: (index, mode) => {
        const client = new FaultyObjectClient(s3Storage(prefix).client, (i) => (i === index ? OBJECT_FAULTS[mode]!(i) : undefined));
        return Promise.resolve({ storage: new ObjectStorage(client, { prefix, bucketUrl: `s3://${bucket}/` }), calls: () => client.calls });
      },
      cleanup: () => Promise.resolve(),
    };
  });

  describe('S3Storage: what the server must do for the layout to hold', () => {
    test('openStore("s3://bucket/prefix"): save, restore bit-exact, from another store object too', async () => {
      const url = `s3://${bucket}/url/${newNonce()}`;
      const store = await openStore(url);
      const saved = await store.save(3, { tensors: sampleTensors(3), state: { at: 3 } });
      assert.equal(saved.path, `${url}/${checkpointDirName(3)}/`);
      await store.close();
      const other = await openStore(url + '/');
      const restored = await other.restore(3);
      assertSameTensors(restored.tensors, sampleTensors(3), 'restored from s3://');
      assert.deepEqual(restored.state, { at: 3 });
      await other.close();
    });

    test('a store in a bucket that does not exist: HF_NOT_FOUND naming the bucket', async () => {
      const store = await openStore(`s3://${bucket}-missing/x`);
      await assert.rejects(store.latest(), (e) => isHoldfastError(e, 'HF_NOT_FOUND') && e.message.includes(`the bucket ${bucket}-missing does not exist`));
      await store.close();
    });

    test('8 writers commit one step at once without the lease: exactly one commits, the others get HF_STEP_EXISTS', async () => {
      const prefix = `race/${newNonce()}/`;
      const io = new IoRuntime({ hashWorkers: 0 });
      const fs = new MemoryFileSystem();
      const seeds = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => 100 + i);
      const results = await Promise.allSettled(
        seeds.map((seed) => commitCheckpoint({ storage: s3Storage(prefix), fs, io, mode: 'atomic_dirsync' }, 5, { shards: planShards(sampleTensors(seed), 1 << 20), files: [], state: seed })),
      );
      await io.close();
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [seeds[i]!] : []));
      assert.equal(won.length, 1, `exactly one winner, got ${won.length}`);
      for (const r of results) if (r.status === 'rejected') assert.ok(isHoldfastError(r.reason, 'HF_STEP_EXISTS'), `a loser failed with ${String(r.reason)}`);
      const restored = await (await openStore({ storage: s3Storage(prefix) })).restore(5);
      assertSameTensors(restored.tensors, sampleTensors(won[0]!), 'the winner of the 8-writer race');
      assert.equal(restored.state, won[0]);
      const left = (await s3Storage(prefix).client.list(prefix)).map((o) => o.key);
      const nonces = new Set(left.filter((k) => k.includes('/ckpt-') && !k.endsWith('manifest.json')).map((k) => k.split('/')[3]));
      assert.equal(nonces.size, 1, `only the winner's attempt is left: ${left.join(', ')}`);
    });

    test('conditional delete: of 8 racing deleters with the same ETag exactly one wins; a stale ETag deletes nothing', async () => {
      const client = s3Storage('').client;
      const key = `cas/${newNonce()}`;
      await client.put(key, new TextEncoder().encode('first'));
      const first = (await client.head(key))!;
      await client.put(key, new TextEncoder().encode('second'));
      assert.equal(await client.deleteIfMatch(key, first.version), false, 'a stale ETag');
      assert.equal(new TextDecoder().decode((await client.get(key))!.bytes), 'second');
      const current = (await client.head(key))!;
      const wins = await Promise.all(Array.from({ length: 8 }, () => client.deleteIfMatch(key, current.version)));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(await client.get(key), undefined);
      assert.deepEqual(await client.list(key), [], 'no tombstone left behind');
      assert.equal(await client.putIfAbsent(key, new TextEncoder().encode('third')), true, 'the key can be created again');
      assert.equal(await client.putIfAbsent(key, new TextEncoder().encode('fourth')), false);
    });

    test('a tombstone left by a deleter that died before its DELETE reads as absent', async () => {
      const client = s3Storage('').client;
      const key = `tomb/${newNonce()}`;
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: new Uint8Array(0), Metadata: { 'holdfast-tombstone': '1' } }));
      assert.equal(await client.get(key), undefined);
      assert.equal(await client.head(key), undefined);
      assert.equal(await client.getRange(key, 0, 10), undefined);
    });

    test('a releaser SIGKILLed between its tombstone PUT and its DELETE: exclusive create is HF_BUSY, and the next writer gets the lease once the tombstone is past its grace', async () => {
      const prefix = `tomb-lease/${newNonce()}/`;
      const storage = s3Storage(prefix);
      const leaseKey = storage.key('lease/record');
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: leaseKey, Body: new Uint8Array(0), Metadata: { 'holdfast-tombstone': 'dead-releaser' } }));
      await assert.rejects(storage.client.putIfAbsent(leaseKey, new TextEncoder().encode('x')), (e: unknown) => isHoldfastError(e) && e.code === 'HF_BUSY' && e.message.includes(leaseKey));
      const store = await openStore({ storage }, { fs: new MemoryFileSystem() });
      try {
        const gc = store.gc({ keepLast: 1 });
        // The grace period passes (the client's clock, moved on): the tombstone is replaced.
        await new Promise((r) => setTimeout(r, 200));
        const realNow = storage.client.now.bind(storage.client);
        storage.client.now = () => realNow() + 61_000;
        assert.deepEqual((await gc).removedSteps, []);
        const record = (await storage.client.get(leaseKey))!;
        assert.equal(JSON.parse(new TextDecoder().decode(record.bytes)).released, true, 'the gc took the lease and released it');
      } finally {
        await store.close();
      }
    });

    test('ranged reads: inside, across the end, past the end, empty; a missing object is undefined', async () => {
      const client = s3Storage('').client;
      const key = `range/${newNonce()}`;
      const bytes = randomBytes(1000);
      await client.put(key, bytes);
      assert.ok(Buffer.from((await client.getRange(key, 10, 20))!).equals(bytes.subarray(10, 30)));
      assert.ok(Buffer.from((await client.getRange(key, 990, 100))!).equals(bytes.subarray(990)));
      assert.equal((await client.getRange(key, 1000, 10))!.byteLength, 0);
      assert.equal((await client.getRange(key, 5, 0))!.byteLength, 0);
      assert.equal(await client.getRange(`${key}-missing`, 0, 10), undefined);
    });

    test('a copied file larger than a part goes up as a multipart upload and restores byte for byte', async () => {
      const prefix = `multipart/${newNonce()}/`;
      const fs = new MemoryFileSystem();
      await fs.mkdir('/src');
      const big = randomBytes(2 * 8 * 2 ** 20 + 12345);
      await writeNewFile(fs, '/src/big.bin', big, { sync: false });
      const storage = s3Storage(prefix, { upload: { concurrency: 2 } });
      const store = await openStore({ storage }, { fs });
      await store.commitFiles(1, ['/src/big.bin']);
      const key = await keyOf(storage, prefix, 1, 'big.bin');
      const got = (await storage.client.get(key))!;
      assert.ok(Buffer.from(got.bytes).equals(big), 'the object holds the file');
      assert.match(got.info.version, /-3$/, 'three parts of the 8 MiB chunk size (a multipart ETag)');
      await fs.mkdir('/out');
      await store.restoreFiles(1, '/out');
      assert.ok(Buffer.from(await readWholeFile(fs, '/out/big.bin')).equals(big));
      await store.close();
    });
  });
});
