// gc on a real S3 server: committed checkpoints by retention, attempt prefixes no manifest names,
// and incomplete multipart uploads, each only once older than the grace period; the checkpoints
// kept stay byte-for-byte what they were, and an upload aborted under a committed object's own key
// leaves that object whole.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import test from 'node:test';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { checkpointDirName } from '../../src/format/names.js';
import { newNonce } from '../../src/format/nonce.js';
import { contentMd5 } from '../../src/storage/s3-upload.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { openStore } from '../../src/store/open-store.js';
import { s3Suite, type S3TestBucket } from '../helpers/s3-server.js';
import { sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors } from './conformance.js';

s3Suite('gc on S3', (b) => {
  test('gc on S3: retention, orphan attempts and dangling multipart uploads past the grace; committed checkpoints intact byte for byte', async () => {
    const prefix = `gc/${newNonce()}/`;
    const storage = new S3Storage({ bucket: b.bucket, prefix });
    const store = await openStore({ storage });
    for (const step of [1, 2, 3]) await store.save(step, { tensors: sampleTensors(step), state: { step } });
    const committedAttempt = async (step: number): Promise<string> => {
      const m = (await storage.client.get(`${prefix}${checkpointDirName(step)}/manifest.json`))!;
      return `${prefix}${checkpointDirName(step)}/${(JSON.parse(new TextDecoder().decode(m.bytes)) as { nonce: string }).nonce}/`;
    };
    const kept = await snapshot(storage, [`${prefix}${checkpointDirName(2)}/`, `${prefix}${checkpointDirName(3)}/`]);
    const shardOf3 = (await storage.client.list(await committedAttempt(3)))[0]!.key;

    // A save that died before its commit (step 4), and one that lost the race for step 2.
    const orphan4 = `${prefix}${checkpointDirName(4)}/${newNonce()}/`;
    const loser2 = `${prefix}${checkpointDirName(2)}/${newNonce()}/`;
    await storage.client.put(`${orphan4}r0000-p000.safetensors`, randomBytes(1000));
    await storage.client.put(`${loser2}r0000-p000.safetensors`, randomBytes(1000));
    // A writer killed mid-upload, and a begin retried after its response was lost on a committed object's key.
    await danglingUpload(b, `${orphan4}big.bin`);
    await danglingUpload(b, shardOf3);

    const young = await store.gc({ keepLast: 2, stagingGraceMs: 3_600_000 });
    assert.deepEqual(young.removedSteps, [1]);
    assert.deepEqual(young.removedStaging, [], 'nothing younger than the grace period is touched');
    assert.equal((await uploadsUnder(b, prefix)).length, 2);
    assert.equal((await storage.client.list(orphan4)).length, 1);

    const old = await store.gc({ keepLast: 2, stagingGraceMs: 0 });
    assert.deepEqual(old.removedSteps, []);
    assert.deepEqual(
      old.removedStaging.filter((r) => !r.includes('incomplete multipart upload')).sort(),
      [`s3://${b.bucket}/${loser2}`, `s3://${b.bucket}/${orphan4}`].sort(),
    );
    assert.equal(old.removedStaging.filter((r) => r.includes('incomplete multipart upload')).length, 2);
    assert.deepEqual(await uploadsUnder(b, prefix), [], 'no incomplete upload left');
    assert.deepEqual(await storage.client.list(orphan4), []);
    assert.deepEqual(await storage.client.list(loser2), []);
    assert.deepEqual(await storage.list(), [2, 3]);
    assert.deepEqual(await snapshot(storage, [`${prefix}${checkpointDirName(2)}/`, `${prefix}${checkpointDirName(3)}/`]), kept, 'kept checkpoints byte for byte');
    assert.ok((await store.verify()).every((r) => r.ok));
    assertSameTensors((await store.restore(3)).tensors, sampleTensors(3), 'step 3 after gc');
    await store.close();
  });
});

/** Key → SHA-256 of every object under the prefixes. */
async function snapshot(storage: S3Storage, prefixes: string[]): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const p of prefixes) {
    for (const o of await storage.client.list(p)) m.set(o.key, createHash('sha256').update((await storage.client.get(o.key))!.bytes).digest('hex'));
  }
  assert.ok(m.size > 0);
  return m;
}

async function danglingUpload(b: S3TestBucket, key: string): Promise<void> {
  const { UploadId } = await b.admin.send(new CreateMultipartUploadCommand({ Bucket: b.bucket, Key: key }));
  const part = randomBytes(5 * 2 ** 20);
  await b.admin.send(new UploadPartCommand({ Bucket: b.bucket, Key: key, UploadId, PartNumber: 1, Body: part, ContentMD5: contentMd5(part) }));
}

async function uploadsUnder(b: S3TestBucket, prefix: string): Promise<string[]> {
  const r = await b.admin.send(new ListMultipartUploadsCommand({ Bucket: b.bucket, Prefix: prefix }));
  return (r.Uploads ?? []).map((u) => u.Key!);
}
