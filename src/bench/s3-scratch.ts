/**
 * Where `holdfast bench --s3` measures: a bucket of its own on the server the
 * AWS environment names (`AWS_ENDPOINT_URL`, region, credentials), created
 * for the run and emptied and deleted after it, whatever happened.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { invalidArg } from '../errors.js';
import { s3ClientConfigFromEnv } from '../storage/s3-storage.js';

export interface ObjectRef {
  key: string;
  size: number;
}

/** Refuses early, naming what is missing, when no S3 endpoint is configured. */
export function assertS3Configured(env: NodeJS.ProcessEnv): void {
  if (env.AWS_ENDPOINT_URL === undefined || env.AWS_ENDPOINT_URL === '') {
    throw invalidArg('--s3 needs an S3-compatible server named by the AWS environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); none is set');
  }
}

export async function withBenchBucket<T>(work: (s3: S3Client, bucket: string) => Promise<T>): Promise<T> {
  const s3 = new S3Client(s3ClientConfigFromEnv(process.env));
  const bucket = `holdfast-bench-${randomBytes(4).toString('hex')}`;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      return await work(s3, bucket);
    } finally {
      await removePrefix(s3, bucket, '').catch(() => undefined);
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    }
  } finally {
    s3.destroy();
  }
}

export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<ObjectRef[]> {
  const out: ObjectRef[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return out;
}

/** Deletes every object and aborts every multipart upload under `prefix`: the server keeps the bench's bytes in memory. */
export async function removePrefix(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  for (const o of await listObjects(s3, bucket, prefix)) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.key }));
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  for (const u of uploads.Uploads ?? []) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
}
