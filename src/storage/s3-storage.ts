/**
 * `S3Storage`: checkpoints in an S3-compatible bucket, `ObjectStorage` (the
 * key layout and rules its header documents, shared with the in-memory twin)
 * over an `S3ObjectClient`. Commit is a single-part PutObject of the step's
 * manifest with `If-None-Match: *`; data objects are single PUTs or, above one
 * part, multipart uploads in parts of the manifest's chunk size, every request
 * with Content-MD5 and each part with its chunk's SHA-256; restores are ranged
 * GETs of one chunk each, in parallel, each chunk verified as it arrives.
 *
 * `s3://<bucket>/<prefix>` names a store. Endpoint, region and credentials come
 * from the standard AWS environment and profile (`AWS_ENDPOINT_URL`,
 * `AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`,
 * `AWS_MAX_ATTEMPTS`), resolved by the SDK. Path-style addressing is used
 * when `HOLDFAST_S3_FORCE_PATH_STYLE=1`, or by default whenever a custom
 * endpoint is set (S3-compatible servers such as Ceph RGW and MinIO want it);
 * `HOLDFAST_S3_FORCE_PATH_STYLE=0` turns it off. A connection idle for
 * `HOLDFAST_S3_SOCKET_TIMEOUT_MS` (default 60 s) is dropped and its request
 * retried, so a request never hangs on a dead peer.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { invalidArg } from '../errors.js';
import { ObjectStorage } from './object-storage.js';
import { S3ObjectClient } from './s3-object-client.js';
import type { S3UploadOptions } from './s3-upload.js';

/** Parts of the chunk size (8 MiB; S3's minimum is 5 MiB), four in flight: at most 40 MiB of part buffers per file. */
const DEFAULT_UPLOAD: S3UploadOptions = { concurrency: 4 };
/** Attempts per request for 5xx, throttling and dropped connections (exponential backoff with jitter). */
const DEFAULT_MAX_ATTEMPTS = 5;
/** A connection that sends or receives nothing for this long is dropped and the request retried: no request hangs. */
const DEFAULT_SOCKET_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface S3Location {
  bucket: string;
  /** Empty, or ends with `/`. */
  prefix: string;
}

export interface S3StorageOptions {
  /** Overrides of the SDK's client configuration (the environment supplies the rest). */
  client?: S3ClientConfig;
  upload?: Partial<S3UploadOptions>;
}

export class S3Storage extends ObjectStorage<S3ObjectClient> {
  constructor(where: S3Location, options: S3StorageOptions = {}) {
    const s3 = new S3Client({ ...s3ClientConfigFromEnv(process.env), ...options.client });
    super(new S3ObjectClient(s3, where.bucket, { ...DEFAULT_UPLOAD, ...options.upload }), { prefix: where.prefix, bucketUrl: `s3://${where.bucket}/` });
  }

  /** Closes the SDK's connections. */
  async close(): Promise<void> {
    this.client.s3.destroy();
  }
}

/** `s3://bucket` or `s3://bucket/some/prefix[/]` → the bucket and a `/`-terminated prefix. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  // Bucket names: 3-63 lowercase letters, digits, dots and hyphens.
  if (m === null || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!)) throw invalidArg(`expected a store URL s3://<bucket>/<prefix>, got ${JSON.stringify(url)}`);
  const rest = (m[2] ?? '').replace(/\/+$/, '');
  if (rest.split('/').some((p) => p === '.' || p === '..') || rest.includes('//')) throw invalidArg(`the prefix of ${url} has an empty, "." or ".." segment`);
  return { bucket: m[1]!, prefix: rest === '' ? '' : `${rest}/` };
}

/** What the SDK does not take from the environment by itself: path style, retries, checksum mode. */
export function s3ClientConfigFromEnv(env: NodeJS.ProcessEnv): S3ClientConfig {
  const pathStyle = env.HOLDFAST_S3_FORCE_PATH_STYLE;
  const maxAttempts = Number(env.AWS_MAX_ATTEMPTS);
  const idleMs = Number(env.HOLDFAST_S3_SOCKET_TIMEOUT_MS);
  return {
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: Number.isInteger(idleMs) && idleMs > 0 ? idleMs : DEFAULT_SOCKET_TIMEOUT_MS },
    forcePathStyle: pathStyle === undefined ? env.AWS_ENDPOINT_URL !== undefined && env.AWS_ENDPOINT_URL !== '' : pathStyle === '1' || pathStyle === 'true',
    maxAttempts: Number.isInteger(maxAttempts) && maxAttempts > 0 ? maxAttempts : DEFAULT_MAX_ATTEMPTS,
    // Content-MD5 is our integrity check; the SDK's default CRC trailers (aws-chunked) are refused by
    // some S3-compatible servers (Ceph RGW 16 answers 411). The AWS_* variables still override.
    ...(env.AWS_REQUEST_CHECKSUM_CALCULATION === undefined ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
    ...(env.AWS_RESPONSE_CHECKSUM_VALIDATION === undefined ? { responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  };
}
