/**
 * Where `holdfast torture s3` runs when no store is named: a bucket of its own on the server
 * at `AWS_ENDPOINT_URL`, created for the run and deleted after it (every trial removes what it
 * wrote, so the bucket is empty by then). The campaign needs a plain-HTTP S3-compatible server:
 * its fault proxy sits on the wire between the SDK and that server.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { invalidArg } from '../errors.js';
import { s3ClientConfigFromEnv } from '../storage/s3-storage.js';

/** The server the proxy forwards to: `AWS_ENDPOINT_URL`, which must be http://. */
export function campaignUpstream(env: NodeJS.ProcessEnv): string {
  const url = env.AWS_ENDPOINT_URL;
  if (url === undefined || !/^http:\/\/[^/]+\/?$/.test(url)) {
    throw invalidArg(`the s3 campaign needs AWS_ENDPOINT_URL set to an S3-compatible server over plain HTTP (its fault proxy sits on that wire), got ${JSON.stringify(url)}; start one with: S3ENV=$(bash scripts/s3-test-server.sh start) && eval "$S3ENV"`);
  }
  return url.replace(/\/$/, '');
}

export async function withScratchBucket<T>(work: (bucket: string) => Promise<T>): Promise<T> {
  const s3 = new S3Client(s3ClientConfigFromEnv(process.env));
  const bucket = `holdfast-torture-${randomBytes(4).toString('hex')}`;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      return await work(bucket);
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    }
  } finally {
    s3.destroy();
  }
}
