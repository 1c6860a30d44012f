/**
 * Holdfast's S3 store through the public API (`openStore('s3://…')`, `save`,
 * `restore` with full verification) beside the SDK's plain transfers of the
 * same objects (s3-reference.ts), sample by sample in turn so a drifting
 * shared machine hits both alike. Every checkpoint and reference upload is
 * deleted once measured: the server may keep its objects in memory.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { randomFillSync } from 'node:crypto';
import { openStore, type Store, type Tensor } from '../index.js';
import { measurement, sample } from './sampling.js';
import { sdkMultipartUpload, sdkRangedGets } from './s3-reference.js';
import { checkpointDirName } from '../format/names.js';
import { listObjects, removePrefix, type ObjectRef } from './s3-scratch.js';
import { median } from './stats.js';

export interface S3Row {
  label: string;
  bytes: number;
  seconds: number[];
  bytesPerSecond: number;
  /** Median of this process's CPU seconds (every thread) per run: the server shares the machine's cores. */
  cpuSeconds?: number;
  /** Of the median against the SDK reference of the same direction. */
  ofReference?: number;
}

export interface S3Throughput {
  save: S3Row[];
  restore: S3Row[];
  /** The checkpoint's data objects, which the reference transfers too. */
  objects: number;
  bytes: number;
}

export async function s3Throughput(s3: S3Client, bucket: string, tensors: Record<string, Tensor>, repeat: number): Promise<S3Throughput> {
  const hfSave: number[] = [];
  const refUp: number[] = [];
  const refUpMd5: number[] = [];
  let kept: { store: Store; prefix: string; objects: ObjectRef[]; bytes: number } | undefined;
  for (let i = 0; i < repeat; i++) {
    const prefix = `save-${i}/`;
    const store = await openStore(`s3://${bucket}/${prefix}`);
    await store.warm();
    const saved = await sample(hfSave, () => store.save(1, { tensors, state: { step: 1 } }));
    const objects = await dataObjects(s3, bucket, prefix, store);
    const source = randomFillSync(new Uint8Array(Math.max(...objects.map((o) => o.size))));
    const refPrefix = `ref-${i}/`;
    const refObjects = objects.map((o) => ({ key: refPrefix + o.key.split('/').at(-1)!, size: o.size }));
    await sample(refUp, () => sdkMultipartUpload(s3, bucket, refObjects, source));
    await removePrefix(s3, bucket, refPrefix);
    await sample(refUpMd5, () => sdkMultipartUpload(s3, bucket, refObjects, source, true));
    await removePrefix(s3, bucket, refPrefix);
    if (i < repeat - 1) {
      await store.close();
      await removePrefix(s3, bucket, prefix);
    } else kept = { store, prefix, objects, bytes: saved.bytes };
  }
  const k = kept!;
  const hfRestore: number[] = [];
  const refGet: number[] = [];
  const refGetSha: number[] = [];
  for (let i = 0; i < repeat; i++) {
    await sample(hfRestore, () => k.store.restore(1));
    await sample(refGet, () => sdkRangedGets(s3, bucket, k.objects));
    await sample(refGetSha, () => sdkRangedGets(s3, bucket, k.objects, true));
  }
  await k.store.close();
  await removePrefix(s3, bucket, k.prefix);
  const objectBytes = k.objects.reduce((n, o) => n + o.size, 0);
  return {
    save: [
      ...pair('Holdfast save to S3 (openStore(s3://…).save)', k.bytes, hfSave, 'SDK multipart upload, same objects, 8 MiB parts, 2 objects × 4 parts in flight', objectBytes, refUp),
      diagnostic('  the same + Content-MD5 of each part (main thread)', objectBytes, refUpMd5, refUp),
    ],
    restore: [
      ...pair('Holdfast restore from S3 + full verify (store.restore)', k.bytes, hfRestore, 'SDK ranged GETs of the same objects, 8 MiB, 2 objects × 4 in flight', objectBytes, refGet),
      diagnostic('  the same + SHA-256 of each GET (main thread)', objectBytes, refGetSha, refGet),
    ],
    objects: k.objects.length,
    bytes: k.bytes,
  };
}

/** The checkpoint's shard objects (its manifest names them), as the server lists them. */
async function dataObjects(s3: S3Client, bucket: string, prefix: string, store: Store): Promise<ObjectRef[]> {
  const manifest = await store.inspect(1);
  const dir = `${prefix}${checkpointDirName(1)}/${manifest.nonce}/`;
  const shards = new Set(manifest.files.filter((f) => f.kind === 'shard').map((f) => dir + f.path));
  return (await listObjects(s3, bucket, dir)).filter((o) => shards.has(o.key));
}

function pair(label: string, bytes: number, seconds: number[], refLabel: string, refBytes: number, refSeconds: number[]): S3Row[] {
  const reference = row(refLabel, refBytes, refSeconds);
  const holdfast = row(label, bytes, seconds);
  return [{ ...holdfast, ofReference: holdfast.bytesPerSecond / reference.bytesPerSecond }, reference];
}

/** A reference with one integrity cost added back, against the plain reference. */
function diagnostic(label: string, bytes: number, seconds: number[], plainSeconds: number[]): S3Row {
  const r = row(label, bytes, seconds);
  return { ...r, ofReference: r.bytesPerSecond / (bytes / median(plainSeconds)) };
}

function row(label: string, bytes: number, seconds: number[]): S3Row {
  const { cpuSeconds } = measurement({ label, kind: 'holdfast', bytes, seconds }, undefined);
  return { label, bytes, seconds, bytesPerSecond: bytes / median(seconds), ...(cpuSeconds === undefined ? {} : { cpuSeconds: median(cpuSeconds) }) };
}
