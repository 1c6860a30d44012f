/**
 * One save, end to end (DESIGN §5): write every shard and opaque file through
 * a storage writer, then commit the manifest (its presence is the commit;
 * how it becomes visible is the storage's business). Any error abandons the
 * attempt: nothing is committed, no fsync is retried, and the error
 * propagates, so a save never reports committed unless every step succeeded.
 *
 * Deferred tensors (a `saveAsync` within a staging budget) are still the
 * caller's arrays: the shard files holding them are written first, and
 * `deferred.returned()` is called as soon as the last of them is on disk, so
 * the caller's pause ends as early as the disk allows.
 */
import { invalidArg } from '../errors.js';
import type { FileEncryption, JsonValue, ManifestFile, ManifestTensor } from '../format/manifest-types.js';
import { DEFAULT_CHUNK_BYTES, MANIFEST_FORMAT, MANIFEST_VERSION, META_NONCE, META_RANK, META_STEP } from '../format/manifest-types.js';
import { sealManifest, encodeManifest } from '../format/manifest.js';
import { incrementalParent, keptShard, shardPlainDigest, type KeptShard } from './incremental.js';
import { MANIFEST_FILE, SHA256SUMS_FILE, assertValidStep } from '../format/names.js';
import { newNonce } from '../format/nonce.js';
import { encodeSha256Sums } from '../format/sha256sums.js';
import { encodeShardHeader } from '../format/safetensors.js';
import { assertSafeRelativePath } from '../format/relative-path.js';
import type { DurabilityMode, SaveResult } from '../format/vocabulary.js';
import type { FileSystem } from '../fs/file-system.js';
import { defineEntry } from '../format/define-entry.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { WrittenFile } from '../io/write-file-parts.js';
import type { Deferred } from '../io/snapshot-then-save.js';
import type { CheckpointStorage, CheckpointWriter } from '../storage/checkpoint-storage.js';
import type { WriterLease } from '../storage/writer-lease.js';
import { assertPlanWithinLimits, type PlannedShard } from './plan-shards.js';
import { TIMING_MAX_MS } from '../format/save-limits.js';
import { currentProvenance } from './provenance.js';
import type { Provenance, SaveTiming } from '../format/manifest-types.js';
import { signManifestHash, type SigningKey } from '../format/manifest-signature.js';
import type { EncryptionKey } from '../format/chunk-cipher.js';
import { manifestEncryption, sealedAsAsked, sealSpec, sealStream, type FileSealer } from './encrypt-file.js';

/** Shard files written at once, largest first (see `mapConcurrent`). */
const SHARDS_IN_FLIGHT = 2;
/** Copies of a caller's files are streamed in chunks of this size. */
const COPY_CHUNK_BYTES = 8 * 1024 * 1024;
const RESERVED_NAMES = new Set([MANIFEST_FILE, SHA256SUMS_FILE]);

export interface CheckpointContent {
  shards: PlannedShard[];
  /** Opaque files copied in by `commitFiles`: name inside the checkpoint, source path on the local disk, size. */
  files: { name: string; sourcePath: string; sizeBytes: number }[];
  state: JsonValue;
  /** Tensors still in the caller's memory: their shard files go first, then `returned()` is called. */
  deferred?: Deferred | undefined;
  /** Keep the parent's identical shard files instead of writing them (manifest 2.0 `source`); the parent is chosen under the lease. */
  incremental?: { fullEvery?: number | undefined } | undefined;
}

export interface CommitContext {
  storage: CheckpointStorage;
  /** Where `commitFiles` reads the caller's files from. */
  fs: FileSystem;
  mode: DurabilityMode;
  /** Hashing workers and aligned buffers of the store. */
  io: IoRuntime;
  /** Takes the store's writer lease once the save is known to be valid; released when the save ends. */
  takeLease?: (() => Promise<WriterLease>) | undefined;
  gitCommit?: string | undefined;
  configHash?: string | undefined;
  /** Signs every manifest this save commits (manifest-signature.ts). */
  signWith?: SigningKey | undefined;
  /** Encrypts every file this save writes (encryption at rest, format/chunk-cipher.ts). */
  encryptWith?: EncryptionKey | undefined;
  /** The training pause the caller measured (saveAsync: its snapshot); default: the whole save, which the caller waited for. */
  pauseMs?: number | undefined;
}

export async function commitCheckpoint(ctx: CommitContext, step: number, content: CheckpointContent): Promise<SaveResult> {
  const startedAt = performance.now();
  assertValidStep(step);
  for (const f of content.files) {
    assertSafeRelativePath(f.name, 'file name', 'HF_INVALID_ARG');
    if (RESERVED_NAMES.has(f.name)) throw invalidArg(`${f.sourcePath}: the name ${f.name} is reserved inside a checkpoint`, { path: f.sourcePath });
  }
  const provenance = currentProvenance(ctx);
  // Whatever a reader would refuse is refused here, before the first byte is written.
  const encryption = ctx.encryptWith === undefined ? undefined : manifestEncryption({ key: ctx.encryptWith, ciphers: ctx.io.ciphers, chunkBytes: DEFAULT_CHUNK_BYTES });
  assertPlanWithinLimits({ step, shards: content.shards, files: content.files, state: content.state, provenance, encryption, incremental: content.incremental !== undefined });
  const lease = await ctx.takeLease?.();
  if (lease?.tookOver) await ctx.storage.audit('lease-takeover', { step, epoch: lease.record.epoch });
  try {
    return await writeAndCommit(ctx, step, content, provenance, lease, startedAt);
  } finally {
    await lease?.release();
  }
}

async function writeAndCommit(ctx: CommitContext, step: number, content: CheckpointContent, provenance: Provenance, lease: WriterLease | undefined, startedAt: number): Promise<SaveResult> {
  const clock: SaveClock = { startedAt };
  const nonce = newNonce();
  const sealer: FileSealer | undefined = ctx.encryptWith === undefined ? undefined : { key: ctx.encryptWith, ciphers: ctx.io.ciphers, chunkBytes: DEFAULT_CHUNK_BYTES };
  // Under the lease: retention cannot delete the parent before this checkpoint, which needs it, commits.
  const parent = content.incremental === undefined ? undefined : await incrementalParent(ctx.storage, step, content.incremental.fullEvery);
  const kept = new Map<PlannedShard, KeptShard>();
  for (const shard of parent === undefined ? [] : content.shards) {
    const k = keptShard(parent!, shard, sealer);
    if (k !== undefined) kept.set(shard, k);
  }
  const writer = await ctx.storage.begin(step, { nonce, durability: ctx.mode, lease });
  try {
    const toWrite = content.shards.filter((shard) => !kept.has(shard));
    const written = await writeShards(ctx.io, writer, { ...content, shards: toWrite }, step, nonce, clock, sealer);
    const files: ManifestFile[] = [];
    const tensors: Record<string, ManifestTensor> = {};
    for (const shard of content.shards) {
      const k = kept.get(shard);
      const w = k === undefined ? written[toWrite.indexOf(shard)]! : { file: k.file, tensors: shardTensors(shard, k.ranges) };
      files.push(w.file);
      for (const [name, entry] of w.tensors) defineEntry(tensors, name, entry);
    }
    for (const f of content.files) files.push(await copyInto(ctx.fs, writer, f, sealer));
    const sealed = sealManifest({
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      step,
      nonce,
      createdAt: new Date().toISOString(),
      files,
      tensors,
      state: content.state,
      world: { size: 1 },
      provenance,
      parent: parent?.step ?? null,
      timing: saveTiming(ctx, clock),
      ...(sealer === undefined ? {} : { encryption: manifestEncryption(sealer) }),
    });
    const manifest = ctx.signWith === undefined ? sealed : { ...sealed, signature: signManifestHash(sealed.manifestHash, ctx.signWith) };
    await writer.commit(encodeManifest(manifest), encodeSha256Sums(manifest.files));
    const bytes = files.reduce((sum, f) => sum + f.size, 0);
    const result: SaveResult = { step, path: writer.location, bytes, files: files.length, durability: ctx.mode };
    if (content.incremental !== undefined) result.keptBytes = [...kept.values()].reduce((sum, k) => sum + k.file.size, 0);
    const hashFallbackReason = written.find((w) => w.hashFallbackReason !== undefined)?.hashFallbackReason;
    return hashFallbackReason === undefined ? result : { ...result, hashFallbackReason };
  } catch (e) {
    await writer.abandon();
    throw e;
  }
}

/** When the save started, and when the files written straight from the caller's arrays (a staging budget's deferred ones) were on disk. */
interface SaveClock {
  startedAt: number;
  deferredWrittenAt?: number;
}

function saveTiming(ctx: CommitContext, clock: SaveClock): SaveTiming {
  const writeMs = roundMs(performance.now() - clock.startedAt);
  if (ctx.pauseMs === undefined) return { pauseMs: writeMs, writeMs };
  // The caller's arrays stayed pinned until the deferred files were written: that is pause too.
  const deferredMs = clock.deferredWrittenAt === undefined ? 0 : clock.deferredWrittenAt - clock.startedAt;
  return { pauseMs: roundMs(ctx.pauseMs + deferredMs), writeMs };
}

/** Microsecond resolution is plenty, and keeps the manifest readable (and within the size the limit check assumed). */
function roundMs(ms: number): number {
  return Math.min(Math.round(ms * 1000) / 1000, TIMING_MAX_MS);
}

/** Every shard file, two at a time, largest first, but those holding deferred tensors before all others. */
function writeShards(io: IoRuntime, writer: CheckpointWriter, content: CheckpointContent, step: number, nonce: string, clock: SaveClock, sealer: FileSealer | undefined): Promise<Awaited<ReturnType<typeof writeShard>>[]> {
  const deferred = content.deferred;
  const holdsDeferred = (shard: PlannedShard): boolean => deferred !== undefined && shard.tensors.some((t) => deferred.names.has(t.name));
  let pending = content.shards.filter(holdsDeferred).length;
  const returned = (): void => {
    clock.deferredWrittenAt = performance.now();
    deferred!.returned();
  };
  if (pending === 0 && deferred !== undefined) returned();
  return mapConcurrent(
    content.shards,
    SHARDS_IN_FLIGHT,
    async (shard) => {
      const w = await writeShard(writer, io, shard, step, nonce, sealer, content.incremental !== undefined);
      if (holdsDeferred(shard) && --pending === 0) returned();
      return w;
    },
    { sizeOf: (shard) => shard.dataBytes, first: holdsDeferred },
  );
}

async function writeShard(writer: CheckpointWriter, io: IoRuntime, shard: PlannedShard, step: number, nonce: string, sealer: FileSealer | undefined, incremental: boolean): Promise<{ file: ManifestFile; tensors: [string, ManifestTensor][]; hashFallbackReason?: string | undefined }> {
  const entries = shard.tensors.map((t) => ({ name: t.name, dtype: t.tensor.dtype, shape: t.tensor.shape, byteLength: t.bytes.byteLength }));
  const metadata = { [META_STEP]: String(step), [META_RANK]: String(shard.rank), [META_NONCE]: nonce };
  const header = encodeShardHeader(entries, metadata);
  const parts = [header.bytes, ...shard.tensors.map((t) => t.bytes)];
  const seal = sealer === undefined ? undefined : sealSpec(sealer, shard.fileName, parts);
  // What the next incremental save compares its candidate with; the tensor bytes were hashed already if this save had a candidate.
  const digest = sealer !== undefined && incremental ? shardPlainDigest(sealer.key, shard, header.bytes) : undefined;
  const written = await writer.writeFile(shard.fileName, parts, { runtime: io, seal: seal?.spec });
  const encrypted = seal === undefined || digest === undefined ? seal?.encrypted : { ...seal.encrypted, plainDigest: digest };
  const file = manifestFile(shard.fileName, sealedAsAsked(written, seal, writer), shard.rank, 'shard', encrypted);
  return { file, tensors: shardTensors(shard, header.ranges), hashFallbackReason: written.hashFallbackReason };
}

/** The manifest entries of a shard's tensors, each one slab covering the whole tensor. */
function shardTensors(shard: PlannedShard, ranges: readonly [number, number][]): [string, ManifestTensor][] {
  return shard.tensors.map((t, i): [string, ManifestTensor] => [
    t.name,
    {
      dtype: t.tensor.dtype,
      shape: [...t.tensor.shape],
      slabs: [{ file: shard.fileName, byteRange: ranges[i]!, offset: t.tensor.shape.map(() => 0), shape: [...t.tensor.shape] }],
    },
  ]);
}

/** Streams a caller's file into the checkpoint; the hash and chunk digests are of the bytes as written. */
async function copyInto(fs: FileSystem, writer: CheckpointWriter, f: CheckpointContent['files'][number], sealer: FileSealer | undefined): Promise<ManifestFile> {
  const src = await fs.open(f.sourcePath, 'read');
  try {
    const sink = await writer.createFile(f.name);
    try {
      if (sealer !== undefined) {
        const { written, encrypted } = await sealStream(sealer, f.name, src, f.sourcePath, f.sizeBytes, sink);
        return manifestFile(f.name, written, 0, 'file', encrypted);
      }
      const chunk = new Uint8Array(COPY_CHUNK_BYTES);
      for (let position = 0; ; ) {
        const n = await src.pread(chunk, position);
        if (n === 0) break;
        await sink.write(chunk.subarray(0, n));
        position += n;
      }
      return manifestFile(f.name, await sink.close(), 0, 'file');
    } catch (e) {
      await sink.abort();
      throw e;
    }
  } finally {
    await src.close();
  }
}

function manifestFile(name: string, written: WrittenFile, rank: number, kind: ManifestFile['kind'], encrypted?: FileEncryption): ManifestFile {
  const file: ManifestFile = { path: name, size: written.sizeBytes, hash: written.hash, rank, kind, chunks: written.chunks };
  return encrypted === undefined ? file : { ...file, encrypted };
}
