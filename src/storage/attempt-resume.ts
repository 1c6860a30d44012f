/**
 * What a copy of a committed checkpoint needs beyond `CheckpointWriter` to
 * be resumable: on an S3 store, the attempt's files uploaded to the very keys
 * the writer would use (`ckpt-<step>/<nonce>/<name>`, the layout in
 * object-storage.ts), where a later run finds what an earlier, killed run
 * sent (s3-resumable-upload.ts). Other stores have no such thing: a copy
 * into them starts the checkpoint afresh.
 *
 * `hasPartial` is the durable evidence that an upload began and did not
 * commit: objects, or multipart uploads, under the attempt's prefix.
 */
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { checkpointDirName } from '../format/names.js';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { ObjectStorage } from './object-storage.js';
import { s3Error } from './s3-errors.js';
import { uploadResumable, type PartSource, type ResumableHooks, type ResumableResult } from './s3-resumable-upload.js';

export interface ResumableAttempts {
  /** Uploads file `name` of attempt (`step`, `nonce`), sending only what an earlier run did not. */
  upload(step: number, nonce: string, name: string, source: PartSource, hooks: ResumableHooks): Promise<ResumableResult>;
  /** An upload of this attempt began and left something behind. */
  hasPartial(step: number, nonce: string): Promise<boolean>;
}

export interface ResumeOptions {
  /** Parts in flight per file (default 4). */
  concurrency?: number;
}

/** The resumable path of `storage`, or undefined when it has none (local and in-memory stores). */
export function resumableAttempts(storage: CheckpointStorage, options: ResumeOptions = {}): ResumableAttempts | undefined {
  if (!(storage instanceof ObjectStorage)) return undefined;
  const client = storage.client as { s3?: S3Client; bucket?: string };
  const { s3, bucket } = client;
  if (s3 === undefined || typeof bucket !== 'string') return undefined;
  const prefixOf = (step: number, nonce: string): string => storage.key(`${checkpointDirName(step)}/${nonce}/`);
  return {
    upload: (step, nonce, name, source, hooks) => uploadResumable({ s3, bucket, key: prefixOf(step, nonce) + name, concurrency: options.concurrency ?? 4 }, source, hooks),
    hasPartial: async (step, nonce) => {
      const prefix = prefixOf(step, nonce);
      if ((await storage.client.list(prefix)).length > 0) return true;
      try {
        const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, MaxUploads: 1 }));
        return (r.Uploads ?? []).length > 0;
      } catch (e) {
        throw s3Error('ListMultipartUploads', `s3://${bucket}/${prefix}`, e);
      }
    },
  };
}
