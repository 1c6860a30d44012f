/**
 * How a save's files become the committed checkpoint `ckpt-<step>` on a local
 * store (DESIGN §5). Two strategies, named after what they do:
 *
 * - `writeInPlace` (`unsafe`): files go straight into `ckpt-<step>`, nothing
 *   is synced. A crash leaves partial files under the final name. Only the
 *   manifest is written beside its final name and renamed into place: its
 *   presence is the commit readers see, so it must never be seen half
 *   written.
 * - `renameFromStaging` (`atomic_nodirsync`, `atomic_dirsync`): files go into
 *   `.staging/<step>-<nonce>`, each fsynced; the directory is renamed into
 *   place only when complete. With `atomic_dirsync` every directory whose
 *   entries changed is fsynced too, so the rename survives power loss.
 *
 * A committed step is never overwritten, and a writer that loses a race for
 * a step always learns it as HF_STEP_EXISTS, never as a raw rename error.
 */
import { posix as path } from 'node:path';
import { HoldfastError, isHoldfastError } from '../errors.js';
import { sameBytes } from '../format/bytes.js';
import { MANIFEST_FILE, SHA256SUMS_FILE, checkpointDirName, pendingManifestName, stagingDirName } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { readFileIfRegular, removeTree, statOrUndefined, writeNewFile } from '../fs/file-utils.js';
import type { FileWriteOptions } from '../io/io-options.js';
import { writeFileParts, type WrittenFile } from '../io/write-file-parts.js';
import type { BeginOptions, BlobSink, CheckpointWriter } from './checkpoint-storage.js';
import { createLocalFile } from './local-file-sink.js';
import { ensureQuarantineRoot, ensureStagingRoot, type LocalLayout } from './local-layout.js';

export async function beginLocalCheckpoint(layout: LocalLayout, step: number, options: BeginOptions): Promise<CheckpointWriter> {
  const finalDir = path.join(layout.root, checkpointDirName(step));
  await clearStep(layout, finalDir, step, options.nonce);
  return options.durability === 'unsafe' ? writeInPlace(layout, finalDir, step, options) : renameFromStaging(layout, finalDir, step, options);
}

function stepExists(step: number, finalDir: string, cause?: unknown): HoldfastError {
  return new HoldfastError('HF_STEP_EXISTS', `step ${step} already exists at ${finalDir}: a committed checkpoint is never overwritten`, {
    path: finalDir,
    data: { step },
    cause,
  });
}

/**
 * A `ckpt-<step>` directory without a manifest is not a checkpoint (an interrupted `unsafe` save, or
 * a committed one whose manifest alone was lost): it is moved to quarantine, never deleted, so the
 * step can be saved again and a human can still look at what it held. Only the lease holder
 * writes, so no live save owns it.
 */
async function clearStep(layout: LocalLayout, finalDir: string, step: number, nonce: string): Promise<void> {
  const { fs, root, syncDirs } = layout;
  if ((await statOrUndefined(fs, finalDir)) === undefined) return;
  if ((await statOrUndefined(fs, path.join(finalDir, MANIFEST_FILE))) !== undefined) throw stepExists(step, finalDir);
  const quarantineRoot = await ensureQuarantineRoot(layout);
  try {
    await fs.rename(finalDir, path.join(quarantineRoot, `${checkpointDirName(step)}-incomplete-${nonce}`));
  } catch (e) {
    if (!isHoldfastError(e, 'HF_NOT_FOUND')) throw e; // another process moved it first
  }
  if (syncDirs) {
    await fs.syncDir(root);
    await fs.syncDir(quarantineRoot);
  }
}

/** Files of one attempt inside `dir`: the fast path for shards, a stream for copies, the manifest pair last. */
function fileWriters(fs: FileSystem, dir: string, sync: boolean): Pick<CheckpointWriter, 'writeFile' | 'createFile'> & { writeManifest(manifest: Uint8Array, sums: Uint8Array): Promise<void> } {
  return {
    writeFile: (name: string, parts: readonly Uint8Array[], options: FileWriteOptions): Promise<WrittenFile> => writeFileParts(fs, path.join(dir, name), parts, { ...options, sync }),
    createFile: (name: string): Promise<BlobSink> => createLocalFile(fs, path.join(dir, name), sync),
    // SHA256SUMS first, manifest last: in `unsafe` mode the manifest's presence is all a reader has.
    writeManifest: async (manifest: Uint8Array, sums: Uint8Array): Promise<void> => {
      await writeNewFile(fs, path.join(dir, SHA256SUMS_FILE), sums, { sync });
      await writeNewFile(fs, path.join(dir, MANIFEST_FILE), manifest, { sync });
    },
  };
}

async function writeInPlace(layout: LocalLayout, finalDir: string, step: number, options: BeginOptions): Promise<CheckpointWriter> {
  const { fs } = layout;
  try {
    await fs.mkdir(finalDir);
  } catch (e) {
    // Another writer created it between our check and our mkdir: the step is theirs.
    if ((await statOrUndefined(fs, finalDir)) !== undefined) throw stepExists(step, finalDir, e);
    throw e;
  }
  const files = fileWriters(fs, finalDir, false);
  const manifestPath = path.join(finalDir, MANIFEST_FILE);
  const pendingPath = path.join(finalDir, pendingManifestName(options.nonce));
  /** Our manifest bytes once the rename that publishes them may have happened. */
  let ours: Uint8Array | undefined;
  return {
    step,
    nonce: options.nonce,
    location: finalDir,
    ...files,
    commit: async (manifest, sums) => {
      await options.lease?.assertCurrent();
      await writeNewFile(fs, path.join(finalDir, SHA256SUMS_FILE), sums, { sync: false });
      // Readers take a present manifest for a commit and quarantine one that does not verify. Written
      // in place, a reader could read it empty, and quarantine the directory after this save had
      // already read its manifest back and reported committed. So it appears whole, in one rename.
      await writeNewFile(fs, pendingPath, manifest, { sync: false });
      if ((await statOrUndefined(fs, manifestPath)) !== undefined) throw stepExists(step, finalDir);
      ours = manifest;
      try {
        await fs.rename(pendingPath, manifestPath);
      } catch (e) {
        if (!isHoldfastError(e, 'HF_NOT_FOUND')) throw e;
        // gc, or the next writer of this step, moved the directory (no manifest yet) to quarantine.
        throw new HoldfastError('HF_ABORTED', `unsafe save of step ${step}: ${finalDir} was moved away (to quarantine, as a directory without a manifest) before the save finished`, { path: finalDir, data: { step }, cause: e });
      }
    },
    // `unsafe` leaves its partial files (the cleanup a crash would skip), but a failed save must not
    // look committed: drop its unpublished manifest, and the published one if it is ours (an
    // ambiguous rename failure); never another writer's.
    abandon: async () => {
      await fs.unlink(pendingPath).catch(() => undefined);
      if (ours === undefined) return;
      const found = await readFileIfRegular(fs, manifestPath, ours.byteLength + 1).catch(() => undefined);
      if (found === undefined || !sameBytes(found, ours)) return;
      try {
        await fs.unlink(manifestPath);
      } catch {
        // Unremovable: readers verify it either way.
      }
    },
  };
}

async function renameFromStaging(layout: LocalLayout, finalDir: string, step: number, options: BeginOptions): Promise<CheckpointWriter> {
  const { fs, root, syncDirs } = layout;
  const stagingRoot = await ensureStagingRoot(layout);
  const dir = path.join(stagingRoot, stagingDirName(step, options.nonce));
  await fs.mkdir(dir);
  if (syncDirs) await fs.syncDir(stagingRoot);
  const files = fileWriters(fs, dir, true);
  let renamed = false;
  return {
    step,
    nonce: options.nonce,
    location: finalDir,
    ...files,
    commit: async (manifest, sums) => {
      await files.writeManifest(manifest, sums);
      // fsync(file) never makes a file's name durable: the staging dir's entries need their own fsync.
      if (syncDirs) await fs.syncDir(dir);
      // gc of a process that took our lease over may have swept the staging dir: never rename a torn one.
      await assertStagingIntact(fs, dir, step);
      await options.lease?.assertCurrent();
      try {
        await fs.rename(dir, finalDir);
      } catch (e) {
        // rename(2) onto a non-empty directory fails ENOTEMPTY/EEXIST: another attempt committed the step.
        if ((await statOrUndefined(fs, path.join(finalDir, MANIFEST_FILE))) !== undefined) throw stepExists(step, finalDir, e);
        throw e;
      }
      renamed = true;
      // The rename lives in both parents; only after this fsync does the commit survive power loss.
      if (syncDirs) {
        await fs.syncDir(root);
        await fs.syncDir(stagingRoot);
      }
    },
    abandon: async () => {
      try {
        // A failure after the rename (a directory fsync) must not leave an unconfirmed checkpoint
        // newer than the last one reported committed: move it back out of readers' sight.
        if (renamed) await fs.rename(finalDir, dir);
        await removeTree(fs, dir);
      } catch {
        // Left as staging garbage: readers never look there and gc sweeps it.
      }
    },
  };
}

async function assertStagingIntact(fs: FileSystem, dir: string, step: number): Promise<void> {
  if ((await statOrUndefined(fs, path.join(dir, MANIFEST_FILE)))?.type !== 'file') {
    throw new HoldfastError('HF_ABORTED', `save of step ${step} abandoned: its staging directory ${dir} was removed before the commit (gc by another process?)`, { path: dir, data: { step } });
  }
}
