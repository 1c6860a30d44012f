/**
 * A fresh bucket on the real S3 test server for one test file, or a skip
 * that says how to start the server (and a failure under CI, where the S3
 * suites must run). Never a mock of the SDK.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test, { after, before } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { s3ClientConfigFromEnv } from '../../src/storage/s3-storage.js';

const HOW_TO_START = 'start the server with: S3ENV=$(bash scripts/s3-test-server.sh start) && eval "$S3ENV"';

export function s3Available(): boolean {
  return process.env.AWS_ENDPOINT_URL !== undefined && process.env.AWS_ENDPOINT_URL !== '';
}

/** Runs `suite(bucket)` with a new bucket when the server is there; otherwise one skipped (or, in CI, failing) test. */
export function withS3Bucket(what: string, suite: (bucket: string, admin: S3Client) => void): void {
  if (!s3Available()) {
    if (process.env.CI !== undefined && process.env.CI !== '') {
      test(`${what} runs in CI`, () => assert.fail(`AWS_ENDPOINT_URL is not set, so the S3 suite cannot run, and in CI it must; ${HOW_TO_START}`));
    } else {
      test(what, { skip: `skipped: no S3 server (AWS_ENDPOINT_URL unset); ${HOW_TO_START}` }, () => undefined);
    }
    return;
  }
  const bucket = `holdfast-test-${randomBytes(4).toString('hex')}`;
  const admin = new S3Client(s3ClientConfigFromEnv(process.env));
  before(async () => {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(() => admin.destroy());
  suite(bucket, admin);
}
