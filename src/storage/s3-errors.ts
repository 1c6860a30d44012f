/**
 * Reading the SDK's errors: which outcome a failed S3 request was (absent,
 * precondition failed), and the `HoldfastError` every other failure becomes.
 * Retries of 5xx, throttling and dropped connections happen below, in the
 * SDK's standard retry strategy (bounded attempts, exponential backoff with
 * jitter); what reaches here has used them up.
 */
import { HoldfastError } from '../errors.js';

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function httpStatusOf(e: unknown): number | undefined {
  return (e as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFound(e: unknown): boolean {
  const name = (e as SdkError | undefined)?.name;
  return httpStatusOf(e) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

export function isPreconditionFailed(e: unknown): boolean {
  return httpStatusOf(e) === 412 || (e as SdkError | undefined)?.name === 'PreconditionFailed';
}

/**
 * 400 BadDigest (the body received does not match its Content-MD5) or XAmzContentSHA256Mismatch
 * (nor the SHA-256 the request's signature covers): damaged on the wire, nothing was stored.
 */
export function isDamagedInTransit(e: unknown): boolean {
  const name = (e as SdkError | undefined)?.name;
  return name === 'BadDigest' || name === 'XAmzContentSHA256Mismatch';
}

/** 416: a range that starts at or past the end of an (existing) object. */
export function isInvalidRange(e: unknown): boolean {
  return httpStatusOf(e) === 416 || (e as SdkError | undefined)?.name === 'InvalidRange';
}

/** What was asked, where, and what the server (or the network) answered. */
export function s3Error(what: string, url: string, e: unknown): HoldfastError {
  const status = httpStatusOf(e);
  const name = (e as SdkError | undefined)?.name ?? 'Error';
  if (name === 'NoSuchBucket') {
    const bucket = /^s3:\/\/([^/]+)/.exec(url)?.[1] ?? url;
    return new HoldfastError('HF_NOT_FOUND', `${what} ${url} failed: the bucket ${bucket} does not exist (create it first; Holdfast never creates buckets)`, { path: url, cause: e, data: { status, name } });
  }
  const detail = e instanceof Error && e.message !== '' && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return new HoldfastError('HF_IO', `${what} ${url} failed: ${status === undefined ? 'no HTTP response' : `HTTP ${status}`} (${name}${detail})`, { path: url, cause: e, data: { status, name } });
}
