/**
 * The real S3 server the S3 tests need (Ceph RGW from `bash scripts/s3-test-server.sh start`),
 * never a mock: `s3Suite` runs `body` when `AWS_ENDPOINT_URL` names one, and otherwise says the
 * suite was skipped and how to start the server; under CI a missing server fails instead.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test, { after, before } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Storage, s3ClientConfigFromEnv, type S3StorageOptions } from '../../src/storage/s3-storage.js';

export const HOW_TO_START = 'start the server with: S3ENV=$(bash scripts/s3-test-server.sh start) && eval "$S3ENV"';

export function hasS3Server(): boolean {
  return process.env.AWS_ENDPOINT_URL !== undefined && process.env.AWS_ENDPOINT_URL !== '';
}

/** A fresh bucket per suite (random name, so suites and helpers share the server safely) and an admin client. */
export interface S3TestBucket {
  bucket: string;
  admin: S3Client;
  /** An `S3Storage` on the suite's bucket, closed when the suite ends. */
  storage(prefix: string, options?: S3StorageOptions): S3Storage;
}

export function s3Suite(name: string, body: (b: S3TestBucket) => void): void {
  if (!hasS3Server()) {
    if (process.env.CI !== undefined && process.env.CI !== '') {
      test(`${name}: the S3 suite runs in CI`, () => assert.fail(`AWS_ENDPOINT_URL is not set, so the S3 suite cannot run, and in CI it must; ${HOW_TO_START}`));
    } else {
      test(name, { skip: `skipped: no S3 server (AWS_ENDPOINT_URL unset); ${HOW_TO_START}` }, () => undefined);
    }
    return;
  }
  const bucket = `holdfast-test-${randomBytes(4).toString('hex')}`;
  const opened: S3Storage[] = [];
  const b: S3TestBucket = {
    bucket,
    admin: new S3Client(s3ClientConfigFromEnv(process.env)),
    storage: (prefix, options) => {
      const s = new S3Storage({ bucket, prefix }, options);
      opened.push(s);
      return s;
    },
  };
  before(async () => {
    await b.admin.send(new CreateBucketCommand({ Bucket: b.bucket }));
  });
  after(async () => {
    for (const s of opened) await s.close();
    b.admin.destroy();
  });
  body(b);
}
