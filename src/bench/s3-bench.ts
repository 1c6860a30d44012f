/**
 * The S3-tier rows (`holdfast bench --s3`), in a scratch bucket on the server
 * the AWS environment names: Holdfast's S3 save and restore beside the SDK's
 * plain multipart upload and ranged GETs of the same objects
 * (s3-throughput.ts), the `saveAsync` pause of a tiered store beside the
 * local store's (tier-pause.ts), and `holdfast sync` after an uploader was
 * SIGKILLed midway (tier-kill-sync.ts). One state (the gpt2-small workload
 * scaled to fit the server's memory) for all of them. Measured, never judged.
 */
import type { FileSystem } from '../fs/file-system.js';
import { OBJECTS_AT_ONCE, PART_BYTES, PARTS_IN_FLIGHT } from './s3-reference.js';
import { assertS3Configured, withBenchBucket } from './s3-scratch.js';
import { s3Throughput, type S3Row } from './s3-throughput.js';
import { tierKillSync, type TierKillSync } from './tier-kill-sync.js';
import { tierPause, type TierPause } from './tier-pause.js';
import { makeWorkload, materialize } from './workloads.js';

export interface S3Report {
  endpoint: string;
  description: string;
  bytes: number;
  /** Data objects of one checkpoint (the reference transfers the same sizes). */
  objects: number;
  partBytes: number;
  objectsAtOnce: number;
  partsInFlight: number;
  save: S3Row[];
  restore: S3Row[];
  pause: TierPause;
  killSync: TierKillSync;
}

export interface S3BenchOptions {
  maxBytes: number;
  repeat: number;
  log: (line: string) => void;
}

export async function runS3Bench(fs: FileSystem, work: string, o: S3BenchOptions): Promise<S3Report> {
  assertS3Configured(process.env);
  const workload = makeWorkload('gpt2-small', o.maxBytes);
  const tensors = materialize(workload);
  const log = (s: string): void => o.log(`[s3] ${s}`);
  log(`${workload.description}: ${(workload.bytes / 2 ** 20).toFixed(1)} MiB at ${process.env.AWS_ENDPOINT_URL}`);
  return withBenchBucket(async (s3, bucket) => {
    const throughput = await s3Throughput(s3, bucket, tensors, o.repeat);
    log(`save ${(throughput.save[0]!.ofReference! * 100).toFixed(0)}% of the SDK's upload, restore ${(throughput.restore[0]!.ofReference! * 100).toFixed(0)}% of its GETs`);
    const pause = await tierPause(fs, work, bucket, tensors, workload.bytes, o.repeat);
    log(`saveAsync pause: tiered ${pause.tieredSteadyMs.toFixed(0)} ms, local ${pause.localSteadyMs.toFixed(0)} ms`);
    const killSync = await tierKillSync(fs, work, bucket, 'gpt2-small', o.maxBytes);
    log(`sync after a kill: ${killSync.syncSeconds.toFixed(2)} s, sent ${killSync.sentBytes} of ${killSync.bytes} bytes`);
    return {
      endpoint: process.env.AWS_ENDPOINT_URL!,
      description: workload.description,
      bytes: throughput.bytes,
      objects: throughput.objects,
      partBytes: PART_BYTES,
      objectsAtOnce: OBJECTS_AT_ONCE,
      partsInFlight: PARTS_IN_FLIGHT,
      save: throughput.save,
      restore: throughput.restore,
      pause,
      killSync,
    };
  });
}
