// The integrity header of data on the wire, measured on the real server: which of Content-MD5 and
// x-amz-checksum-sha256 it enforces, and that a byte flipped in transit (by the fault proxy, after
// the client computed the header) is refused at upload, then sent again intact by the uploader.
import { DEFAULT_CHUNK_BYTES } from '../../src/format/manifest-types.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { CreateMultipartUploadCommand, HeadObjectCommand, ListPartsCommand, PutObjectCommand, S3Client, UploadPartCommand, AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { newNonce } from '../../src/format/nonce.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';
import { S3Storage, s3ClientConfigFromEnv } from '../../src/storage/s3-storage.js';
import { contentMd5 } from '../../src/storage/s3-upload.js';
import { openStore } from '../../src/store/open-store.js';
import { S3FaultProxy } from '../../src/torture/s3-fault-proxy.js';
import { s3Suite } from '../helpers/s3-server.js';

const PART = 5 * 2 ** 20;
const name = (e: unknown): string | undefined => (e as { name?: string }).name;

s3Suite('S3 integrity header', (b) => {
  test('the server enforces Content-MD5 on PutObject and UploadPart (400 BadDigest, nothing stored) and ignores x-amz-checksum-sha256', async () => {
    const body = randomBytes(PART);
    const wrongMd5 = Buffer.alloc(16).toString('base64');
    const wrongSha = Buffer.alloc(32).toString('base64');
    await assert.rejects(b.admin.send(new PutObjectCommand({ Bucket: b.bucket, Key: 'md5/put', Body: body, ContentMD5: wrongMd5 })), (e) => name(e) === 'BadDigest');
    await assert.rejects(b.admin.send(new HeadObjectCommand({ Bucket: b.bucket, Key: 'md5/put' })), (e) => name(e) === 'NotFound');
    const { UploadId } = await b.admin.send(new CreateMultipartUploadCommand({ Bucket: b.bucket, Key: 'md5/part', ChecksumAlgorithm: 'SHA256' }));
    await assert.rejects(b.admin.send(new UploadPartCommand({ Bucket: b.bucket, Key: 'md5/part', UploadId, PartNumber: 1, Body: body, ContentMD5: wrongMd5 })), (e) => name(e) === 'BadDigest');
    assert.deepEqual((await b.admin.send(new ListPartsCommand({ Bucket: b.bucket, Key: 'md5/part', UploadId }))).Parts ?? [], [], 'the refused part was not stored');
    // Measured, so not relied on: a wrong SHA-256 checksum is accepted on both, even in an upload created for SHA256.
    await b.admin.send(new UploadPartCommand({ Bucket: b.bucket, Key: 'md5/part', UploadId, PartNumber: 1, Body: body, ChecksumSHA256: wrongSha }));
    await b.admin.send(new PutObjectCommand({ Bucket: b.bucket, Key: 'md5/sha', Body: body, ChecksumSHA256: wrongSha }));
    await b.admin.send(new AbortMultipartUploadCommand({ Bucket: b.bucket, Key: 'md5/part', UploadId }));
  });

  test('a part whose body is damaged on the wire after its Content-MD5 was computed is refused by the server (BadDigest when the payload is unsigned)', async () => {
    const proxy = await S3FaultProxy.start({ upstream: process.env.AWS_ENDPOINT_URL!, decide: (r) => ({ fault: r.method === 'PUT' && r.bodyBytes > 0 ? 'flip-byte' : 'pass', at: 0.37 }) });
    const s3 = new S3Client({ ...s3ClientConfigFromEnv(process.env), endpoint: proxy.endpoint, maxAttempts: 1 });
    // Signed UNSIGNED-PAYLOAD (as the SDK signs streams), so Content-MD5 is the only check of the body.
    s3.middlewareStack.add((next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    }, { step: 'build' });
    try {
      const body = randomBytes(PART);
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b.bucket, Key: 'flip/part' }));
      await assert.rejects(s3.send(new UploadPartCommand({ Bucket: b.bucket, Key: 'flip/part', UploadId, PartNumber: 1, Body: body, ContentMD5: contentMd5(body) })), (e) => name(e) === 'BadDigest');
      assert.deepEqual((await b.admin.send(new ListPartsCommand({ Bucket: b.bucket, Key: 'flip/part', UploadId }))).Parts ?? [], []);
      await assert.rejects(s3.send(new PutObjectCommand({ Bucket: b.bucket, Key: 'flip/put', Body: body, ContentMD5: contentMd5(body) })), (e) => name(e) === 'BadDigest');
      await assert.rejects(b.admin.send(new HeadObjectCommand({ Bucket: b.bucket, Key: 'flip/put' })), (e) => name(e) === 'NotFound');
      const flipped = proxy.events.filter((e) => e.fault === 'flip-byte');
      assert.equal(flipped.length, 2);
      assert.deepEqual(flipped.map((e) => e.upstreamStatus), [400, 400], 'the server saw the damaged bodies and refused them');
      await b.admin.send(new AbortMultipartUploadCommand({ Bucket: b.bucket, Key: 'flip/part', UploadId }));
    } finally {
      s3.destroy();
      await proxy.close();
    }
  });

  test('with the payload signed (the SDK default for buffered bodies) the server also checks its SHA-256: a damaged body is refused either way', async () => {
    const proxy = await S3FaultProxy.start({ upstream: process.env.AWS_ENDPOINT_URL!, decide: () => ({ fault: 'flip-byte', at: 0.9 }) });
    const s3 = new S3Client({ ...s3ClientConfigFromEnv(process.env), endpoint: proxy.endpoint, maxAttempts: 1 });
    try {
      const body = randomBytes(1000);
      await assert.rejects(s3.send(new PutObjectCommand({ Bucket: b.bucket, Key: 'flip/signed', Body: body, ContentMD5: contentMd5(body) })), (e) => name(e) === 'XAmzContentSHA256Mismatch');
      await assert.rejects(b.admin.send(new HeadObjectCommand({ Bucket: b.bucket, Key: 'flip/signed' })), (e) => name(e) === 'NotFound');
    } finally {
      s3.destroy();
      await proxy.close();
    }
  });

  test('through S3Storage, every data part and PUT carries Content-MD5: damaged parts are refused, sent again, and the checkpoint restores bit-exact', async () => {
    // The first part of the multipart upload and the first small PUT are damaged once each.
    const damaged = new Set<string>();
    const proxy = await S3FaultProxy.start({
      upstream: process.env.AWS_ENDPOINT_URL!,
      decide: (r) => {
        const kind = r.bodyBytes >= DEFAULT_CHUNK_BYTES ? 'part' : r.bodyBytes > 0 && r.method === 'PUT' ? 'put' : undefined;
        if (kind === undefined || damaged.has(kind)) return { fault: 'pass' };
        damaged.add(kind);
        return { fault: 'flip-byte', at: 0.5 };
      },
    });
    const prefix = `flip/${newNonce()}/`;
    const storage = new S3Storage({ bucket: b.bucket, prefix }, { client: { endpoint: proxy.endpoint }, upload: { concurrency: 2 } });
    try {
      const fs = new MemoryFileSystem();
      await fs.mkdir('/src');
      const big = randomBytes(2 * DEFAULT_CHUNK_BYTES + 4321);
      await writeNewFile(fs, '/src/big.bin', big, { sync: false });
      const store = await openStore({ storage }, { fs });
      await store.commitFiles(1, ['/src/big.bin']);
      const flipped = proxy.events.filter((e) => e.fault === 'flip-byte');
      assert.equal(flipped.length, 2);
      assert.ok(flipped.every((e) => e.upstreamStatus === 400), 'both damaged bodies refused');
      await fs.mkdir('/out');
      const clean = await openStore({ storage: new S3Storage({ bucket: b.bucket, prefix }) }, { fs });
      await clean.restoreFiles(1, '/out');
      assert.ok(Buffer.from(await readWholeFile(fs, '/out/big.bin')).equals(big));
      assert.ok((await clean.verify(1)).every((r) => r.ok));
      await clean.close();
      await store.close();
    } finally {
      await proxy.close();
    }
  });
});
