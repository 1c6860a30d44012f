/**
 * One committed checkpoint copied from one store to another (upload to the
 * durable tier, `sync`, `replicate`): the same checkpoint, byte for byte,
 * committed with the destination's own exclusive commit under its writer
 * lease. The manifest's bytes are copied unchanged (same nonce, same
 * manifestHash), so "the destination holds this checkpoint" is a comparison
 * of manifests, and the shards' headers, which carry the nonce, still agree.
 *
 * Every byte sent is read afresh from the source and hashed against the
 * source's manifest (per chunk before each part is sent, where the 2.0
 * manifest has chunk digests; the whole file's SHA-256 always); a file that
 * does not match is refused before the destination makes it visible (a local sink is aborted, an S3 upload is not
 * completed). Arrival is checked from the destination's own account of what
 * it stored (a local sink's hash of the bytes it wrote, S3's size and ETag).
 *
 * Idempotent: a step the destination already holds with the same manifest
 * is `present`; one it holds with another checkpoint is a `conflict`,
 * reported and never overwritten. Resumable on S3 (attempt-resume.ts).
 */
import { createHash } from 'node:crypto';
import { HoldfastError, isHoldfastError } from '../errors.js';
import { MANIFEST_MAX_BYTES } from '../format/limits.js';
import type { Manifest, ManifestFile } from '../format/manifest-types.js';
import { parseManifest } from '../format/manifest.js';
import { MANIFEST_FILE } from '../format/names.js';
import { formatHash, parseHash } from '../format/sha256.js';
import { chunkListHash, needsWholeFileHash } from '../format/chunk-list-hash.js';
import { encodeSha256Sums } from '../format/sha256sums.js';
import type { DurabilityMode } from '../format/vocabulary.js';
import type { CheckpointReader, CheckpointStorage, CheckpointWriter } from '../storage/checkpoint-storage.js';
import type { HashStream } from '../io/hash-worker-pool.js';
import type { IoRuntime } from '../io/io-runtime.js';
import { ObjectStorage } from '../storage/object-storage.js';
import type { ResumableAttempts } from '../storage/attempt-resume.js';
import { acquireWriterLease, type LeaseOptions, type WriterLease } from '../storage/writer-lease.js';

/** Bytes per part (S3 multipart) and per read of the source; parts line up across runs. */
export const DEFAULT_PART_BYTES = 8 * 2 ** 20;

export type CopyOutcome = 'copied' | 'present' | 'conflict' | 'missing';

export interface CopyResult {
  step: number;
  outcome: CopyOutcome;
  /** Total size of the checkpoint's files. */
  bytes: number;
  /** Bytes sent in this run (an interrupted earlier run's verified parts are not sent again). */
  sentBytes: number;
  /** For `conflict` and `missing`: what was found. */
  note?: string;
}

export interface TransferProgress {
  step: number;
  doneBytes: number;
  totalBytes: number;
  sentBytes: number;
}

export interface CopyOptions {
  durability?: DurabilityMode;
  /** Hashing workers to verify on (a tiered store's own); default: this thread. */
  io?: IoRuntime;
  lease?: LeaseOptions;
  partBytes?: number;
  onProgress?: (progress: TransferProgress) => void;
}

export async function copyCheckpoint(from: CheckpointStorage, to: CheckpointStorage, step: number, options: CopyOptions = {}): Promise<CopyResult> {
  const reader = await from.open(step);
  if (reader === undefined) return { step, outcome: 'missing', bytes: 0, sentBytes: 0, note: `no committed checkpoint ${step} in ${from.location}` };
  const source = await readSourceManifest(reader);
  const bytes = source.manifest.files.reduce((s, f) => s + f.size, 0);
  const before = await destinationHolds(to, step, source.manifest);
  if (before !== 'absent') return settled(step, bytes, before, to);
  const lease = await acquireWriterLease(to.lease, `replicate ${step}`, options.lease);
  if (lease.tookOver) await to.audit('lease-takeover', { step, epoch: lease.record.epoch });
  try {
    const sentBytes = await writeCopy(reader, source, to, lease, options);
    await to.audit('save', { step, bytes, replicatedFrom: from.location, sentBytes });
    return { step, outcome: 'copied', bytes, sentBytes };
  } catch (e) {
    // Another copier (a second sync, the training process's own uploader) committed it first.
    if (!isHoldfastError(e, 'HF_STEP_EXISTS')) throw e;
    const now = await destinationHolds(to, step, source.manifest);
    return settled(step, bytes, now === 'absent' ? 'conflict' : now, to);
  } finally {
    await lease.release();
  }
}

/** Whether `storage` holds `step` as exactly this checkpoint (same manifest hash). */
export async function destinationHolds(storage: CheckpointStorage, step: number, manifest: Manifest): Promise<'absent' | 'present' | 'conflict'> {
  const reader = await storage.open(step);
  if (reader === undefined) return 'absent';
  try {
    const there = parseManifest(await reader.readSmallFile(MANIFEST_FILE, MANIFEST_MAX_BYTES), reader.locate(MANIFEST_FILE));
    return there.manifestHash === manifest.manifestHash && there.nonce === manifest.nonce ? 'present' : 'conflict';
  } catch (e) {
    if (isHoldfastError(e) && e.code !== 'HF_IO') return 'conflict'; // an unreadable manifest is not ours either
    throw e;
  }
}

function settled(step: number, bytes: number, outcome: 'present' | 'conflict', to: CheckpointStorage): CopyResult {
  const note = outcome === 'conflict' ? `${to.location} holds another checkpoint at step ${step} (a different manifest); it was left as it is` : undefined;
  return { step, outcome, bytes, sentBytes: 0, ...(note === undefined ? {} : { note }) };
}

interface SourceManifest {
  bytes: Uint8Array;
  manifest: Manifest;
}

async function readSourceManifest(reader: CheckpointReader): Promise<SourceManifest> {
  const where = reader.locate(MANIFEST_FILE);
  const bytes = await reader.readSmallFile(MANIFEST_FILE, MANIFEST_MAX_BYTES);
  const manifest = parseManifest(bytes, where);
  if (manifest.step !== reader.step) throw new HoldfastError('HF_CORRUPT', `${where}: manifest says step ${manifest.step}, its checkpoint is step ${reader.step}`, { path: where });
  assertSelfContained(manifest, where);
  return { bytes, manifest };
}

async function writeCopy(reader: CheckpointReader, source: SourceManifest, to: CheckpointStorage, lease: WriterLease, options: CopyOptions): Promise<number> {
  const { manifest } = source;
  const total = manifest.files.reduce((s, f) => s + f.size, 0);
  const progress = { step: manifest.step, doneBytes: 0, totalBytes: total, sentBytes: 0 };
  const report = (n: number, sent: boolean): void => {
    progress.doneBytes += n;
    if (sent) progress.sentBytes += n;
    options.onProgress?.({ ...progress });
  };
  const resumable = to instanceof ObjectStorage ? (await import('../storage/attempt-resume.js')).resumableAttempts(to) : undefined;
  const writer = await beginUnderLease(to, manifest, lease, options.durability ?? 'atomic_dirsync');
  try {
    for (const file of manifest.files) {
      const source = fileSource(reader, file, partBytesFor(file, options.partBytes ?? DEFAULT_PART_BYTES), options.io);
      try {
        if (resumable !== undefined) await uploadFile(resumable, manifest, file, source, report);
        else await writeFile(writer, file, source, report);
      } finally {
        source.dispose();
      }
    }
    await writer.commit(source.bytes, encodeSha256Sums(manifest.files));
    return progress.sentBytes;
  } catch (e) {
    // Only what this writer itself wrote goes: resumable uploads stay for the next run.
    await writer.abandon();
    throw e;
  }
}

/**
 * The destination's writer for this attempt. A local store refuses a second staging directory
 * for the same attempt, which a copy killed earlier leaves behind: under the lease no live writer
 * owns any staging leftover, so they are swept and the attempt begins afresh.
 */
async function beginUnderLease(to: CheckpointStorage, manifest: Manifest, lease: WriterLease, durability: DurabilityMode): Promise<CheckpointWriter> {
  const begin = (): Promise<CheckpointWriter> => to.begin(manifest.step, { nonce: manifest.nonce, durability, lease });
  try {
    return await begin();
  } catch (e) {
    if (!(isHoldfastError(e) && e.data['errno'] === 'EEXIST')) throw e;
    await lease.assertCurrent();
    await to.sweep({ graceMs: 0 });
    return begin();
  }
}

/**
 * Parts of whole chunks when the manifest has chunk digests (2.0), so each part is verified on its
 * own before it is sent: the smallest multiple of the chunk size not below `wanted`.
 */
function partBytesFor(file: ManifestFile, wanted: number): number {
  const chunk = file.chunks?.bytes;
  return chunk === undefined ? wanted : chunk * Math.max(1, Math.ceil(wanted / chunk));
}

/**
 * A file of the source read in parts. Where the manifest has chunk digests, each of its chunks is
 * checked before the part is returned, so a damaged chunk is never sent; where its recorded hash
 * is the plain SHA-256 of a file of several chunks (1.0, 2.0), every part is also hashed into
 * that (checked whole by `assertWhole`). A 2.1 hash derived from the chunk digests is checked from
 * the chunks already verified: each byte is hashed once.
 */
interface FileSource {
  sizeBytes: number;
  partBytes: number;
  read(index: number): Promise<Uint8Array>;
  /** Throws HF_CORRUPT unless every byte read so far (the whole file) matches the manifest. */
  assertWhole(): Promise<void>;
  /** Drops a hash left unfinished by an error. */
  dispose(): void;
}

function fileSource(reader: CheckpointReader, file: ManifestFile, partBytes: number, io: IoRuntime | undefined): FileSource {
  const where = reader.locate(file.path);
  const expected = parseHash(file.hash, where).hex;
  const whole = needsWholeFileHash(file, where);
  let hash: HashStream | undefined;
  let hashed = 0;
  return {
    sizeBytes: file.size,
    partBytes,
    read: async (index) => {
      if (index === 0) {
        hash?.abort();
        hash = whole ? openHash(io, file.size) : undefined;
        hashed = 0;
        await assertSourceSize(reader, file);
      }
      const offset = index * partBytes;
      const into = new Uint8Array(Math.max(0, Math.min(partBytes, file.size - offset)));
      for (let at = 0; at < into.byteLength; ) {
        const n = await reader.readRange(file.path, offset + at, into.subarray(at));
        if (n === 0) throw new HoldfastError('HF_CORRUPT', `${where}: ended at ${offset + at} bytes, manifest records ${file.size}`, { path: where });
        at += n;
      }
      if (file.chunks !== undefined) await assertChunks(where, file, offset, into, io);
      await hash?.update(into);
      hashed += into.byteLength;
      return into;
    },
    assertWhole: async () => {
      const actual =
        hashed !== file.size ? `(${hashed} of ${file.size} bytes read)`
        : whole ? ((await hash?.digest())?.sha256Hex ?? '(not hashed)')
        : parseHash(chunkListHash(file.chunks!.sha256), where).hex; // every chunk was checked by `read`
      hash = undefined;
      if (actual !== expected) {
        throw new HoldfastError('HF_CORRUPT', `${where}: SHA-256 mismatch: recorded ${expected}, computed ${actual}; not copied`, { path: where, data: { file: file.path, expected, actual } });
      }
    },
    dispose: () => {
      hash?.abort();
      hash = undefined;
    },
  };
}

/**
 * SHA-256 on the store's hashing workers when it has them (an upload in a training process must
 * not take the training thread's time), else on this thread (the CLI).
 */
function openHash(io: IoRuntime | undefined, sizeBytes: number): HashStream {
  if (io !== undefined) return io.hashers.open(sizeBytes);
  const h = createHash('sha256');
  return {
    update: async (b) => {
      h.update(b);
      return b.byteLength;
    },
    digest: async () => {
      const sha256Hex = h.digest('hex');
      return { sha256Hex, hash: formatHash(sha256Hex) };
    },
    abort: () => undefined,
  };
}

/** The chunks inside one part (which starts on a chunk boundary) against the manifest's chunk digests. */
async function assertChunks(where: string, file: ManifestFile, offset: number, part: Uint8Array, io: IoRuntime | undefined): Promise<void> {
  const { bytes, sha256 } = file.chunks!;
  for (let at = 0; at < part.byteLength; at += bytes) {
    const index = (offset + at) / bytes;
    const chunk = part.subarray(at, at + bytes);
    const stream = openHash(io, chunk.byteLength);
    await stream.update(chunk);
    const actual = (await stream.digest()).sha256Hex;
    if (actual !== sha256[index]) {
      throw new HoldfastError('HF_CORRUPT', `${where}: chunk ${index} (bytes ${offset + at}+${chunk.byteLength}) SHA-256 mismatch: recorded ${sha256[index]}, computed ${actual}; not copied`, {
        path: where,
        data: { file: file.path, chunk: index, expected: sha256[index], actual },
      });
    }
  }
}

/** Files kept from an earlier checkpoint (2.0 `source`, incremental saves) are not read by this build's copy. */
function assertSelfContained(manifest: Manifest, where: string): void {
  const kept = manifest.files.find((f) => f.source !== undefined);
  if (kept !== undefined) {
    throw new HoldfastError('HF_FORMAT', `${where}: ${kept.path} is kept from checkpoint ${kept.source!.step} (an incremental checkpoint); copying incremental checkpoints is not supported by this build`, { path: where });
  }
}

async function assertSourceSize(reader: CheckpointReader, file: ManifestFile): Promise<void> {
  const st = await reader.statFile(file.path);
  const where = reader.locate(file.path);
  if (st === undefined) throw new HoldfastError('HF_CORRUPT', `${where}: file is missing; not copied`, { path: where });
  if (st.kind !== 'file' || st.sizeBytes !== file.size) {
    throw new HoldfastError('HF_CORRUPT', `${where}: is a ${st.kind} of ${st.sizeBytes} bytes, manifest records a file of ${file.size}; not copied`, { path: where });
  }
}

async function uploadFile(resumable: ResumableAttempts, manifest: Manifest, file: ManifestFile, source: FileSource, report: (n: number, sent: boolean) => void): Promise<void> {
  await resumable.upload(manifest.step, manifest.nonce, file.path, source, {
    beforeComplete: () => source.assertWhole(),
    onPart: report,
  });
}

async function writeFile(writer: CheckpointWriter, file: ManifestFile, source: FileSource, report: (n: number, sent: boolean) => void): Promise<void> {
  const sink = await writer.createFile(file.path);
  try {
    const parts = Math.max(1, Math.ceil(file.size / source.partBytes));
    for (let i = 0; i < parts; i++) {
      const bytes = await source.read(i);
      await sink.write(bytes);
      report(bytes.byteLength, true);
    }
    await source.assertWhole();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  const written = await sink.close();
  // The sink hashes what it wrote into chunk digests of its own size (and the hash derived from
  // them): compared with the manifest's where those have the same size, which every 2.x
  // writer's do. Otherwise (1.0) the source's check of every byte read stands alone.
  const same = file.chunks === undefined || file.chunks.bytes !== written.chunks.bytes ? written.sizeBytes === file.size : written.sizeBytes === file.size && written.hash === chunkListHash(file.chunks.sha256);
  if (!same) {
    const expected = file.chunks === undefined ? file.hash : chunkListHash(file.chunks.sha256);
    throw new HoldfastError('HF_CORRUPT', `${writer.location}${file.path}: arrived as ${written.sizeBytes} bytes with ${written.hash}, expected ${file.size} bytes with ${expected}`, { path: writer.location });
  }
}
