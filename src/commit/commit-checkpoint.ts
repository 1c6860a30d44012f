/**
 * One save, end to end (DESIGN §5): write every shard and opaque file into
 * the target directory, then the manifest (its presence is the commit), then
 * install the directory with the mode's strategy. Any error abandons the
 * save: nothing is renamed, no fsync is retried, and the error propagates,
 * so a save never reports committed unless every step succeeded.
 */
import { posix as path } from 'node:path';
import { invalidArg } from '../errors.js';
import type { JsonValue, Manifest, ManifestFile, ManifestTensor } from '../format/manifest-types.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, META_NONCE, META_RANK, META_STEP } from '../format/manifest-types.js';
import { sealManifest, encodeManifest } from '../format/manifest.js';
import { MANIFEST_FILE, SHA256SUMS_FILE, assertValidStep } from '../format/names.js';
import { encodeSha256Sums } from '../format/sha256sums.js';
import { formatHash } from '../format/sha256.js';
import { encodeShardHeader } from '../format/safetensors.js';
import { assertSafeRelativePath } from '../format/relative-path.js';
import type { FileSystem } from '../fs/file-system.js';
import { writeNewFile } from '../fs/file-utils.js';
import { defineEntry } from '../format/define-entry.js';
import { copyFileHashed } from '../io/copy-file-hashed.js';
import type { IoRuntime } from '../io/io-runtime.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import { writeFileParts, type WrittenFile } from '../io/write-file-parts.js';
import type { DurabilityMode, SaveResult } from '../format/vocabulary.js';
import { prepareTarget } from './checkpoint-target.js';
import { newNonce } from './nonce.js';
import type { PlannedShard } from './plan-shards.js';
import { currentProvenance } from './provenance.js';

/** Shard files written at once, largest first (see `mapConcurrent`). */
const SHARDS_IN_FLIGHT = 2;
const RESERVED_NAMES = new Set([MANIFEST_FILE, SHA256SUMS_FILE]);

export interface CheckpointContent {
  shards: PlannedShard[];
  /** Opaque files copied in by `commitFiles`: name inside the checkpoint → source path. */
  files: { name: string; sourcePath: string }[];
  state: JsonValue;
}

export interface CommitContext {
  fs: FileSystem;
  /** Hashing workers and write buffers. */
  io: IoRuntime;
  root: string;
  mode: DurabilityMode;
  gitCommit?: string | undefined;
  configHash?: string | undefined;
}

export async function commitCheckpoint(ctx: CommitContext, step: number, content: CheckpointContent): Promise<SaveResult> {
  assertValidStep(step);
  for (const f of content.files) {
    assertSafeRelativePath(f.name, 'file name', 'HF_INVALID_ARG');
    if (RESERVED_NAMES.has(f.name)) throw invalidArg(`${f.sourcePath}: the name ${f.name} is reserved inside a checkpoint`, { path: f.sourcePath });
  }
  const nonce = newNonce();
  const target = await prepareTarget(ctx.fs, ctx.root, step, nonce, ctx.mode);
  try {
    const written = await mapConcurrent(content.shards, SHARDS_IN_FLIGHT, (shard) => writeShard(ctx.fs, ctx.io, target.dir, shard, step, nonce, target.syncFiles), {
      sizeOf: (shard) => shard.dataBytes,
    });
    const files: ManifestFile[] = written.map((w) => w.file);
    const tensors: Record<string, ManifestTensor> = {};
    for (const w of written) for (const [name, entry] of w.tensors) defineEntry(tensors, name, entry);
    for (const f of content.files) {
      const written = await copyFileHashed(ctx.fs, f.sourcePath, path.join(target.dir, f.name), { sync: target.syncFiles });
      files.push(manifestFile(f.name, written, 0, 'file'));
    }
    const manifest = sealManifest({
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      step,
      nonce,
      createdAt: new Date().toISOString(),
      files,
      tensors,
      state: content.state,
      world: { size: 1 },
      provenance: currentProvenance(ctx),
      parent: null,
    });
    await writeManifestFiles(ctx.fs, target.dir, manifest, target.syncFiles);
    await target.finalize();
    const bytes = files.reduce((sum, f) => sum + f.size, 0);
    return { step, path: target.finalDir, bytes, files: files.length, durability: ctx.mode };
  } catch (e) {
    await target.abandon();
    throw e;
  }
}

async function writeShard(
  fs: FileSystem,
  io: IoRuntime,
  dir: string,
  shard: PlannedShard,
  step: number,
  nonce: string,
  sync: boolean,
): Promise<{ file: ManifestFile; tensors: [string, ManifestTensor][] }> {
  const entries = shard.tensors.map((t) => ({ name: t.name, dtype: t.tensor.dtype, shape: t.tensor.shape, byteLength: t.bytes.byteLength }));
  const metadata = { [META_STEP]: String(step), [META_RANK]: String(shard.rank), [META_NONCE]: nonce };
  const header = encodeShardHeader(entries, metadata);
  const parts = [header.bytes, ...shard.tensors.map((t) => t.bytes)];
  const written = await writeFileParts(fs, path.join(dir, shard.fileName), parts, { sync, runtime: io });
  const tensors = shard.tensors.map((t, i): [string, ManifestTensor] => [
    t.name,
    {
      dtype: t.tensor.dtype,
      shape: [...t.tensor.shape],
      slabs: [{ file: shard.fileName, byteRange: header.ranges[i]!, offset: t.tensor.shape.map(() => 0), shape: [...t.tensor.shape] }],
    },
  ]);
  return { file: manifestFile(shard.fileName, written, shard.rank, 'shard'), tensors };
}

function manifestFile(name: string, written: WrittenFile, rank: number, kind: ManifestFile['kind']): ManifestFile {
  return { path: name, size: written.sizeBytes, hash: formatHash(written.sha256Hex), rank, kind };
}

/** SHA256SUMS first, manifest last: in `unsafe` mode the manifest's presence is all a reader has. */
async function writeManifestFiles(fs: FileSystem, dir: string, manifest: Manifest, sync: boolean): Promise<void> {
  await writeNewFile(fs, path.join(dir, SHA256SUMS_FILE), encodeSha256Sums(manifest.files), { sync });
  await writeNewFile(fs, path.join(dir, MANIFEST_FILE), encodeManifest(manifest), { sync });
}
