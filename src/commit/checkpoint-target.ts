/**
 * Where a save writes its files, and how they become the committed
 * checkpoint `ckpt-<step>` (DESIGN §5). Two strategies, named after what
 * they do:
 *
 * - `writeInPlace` (`unsafe`): files go straight into `ckpt-<step>`, nothing
 *   is synced. A crash leaves partial files under the final name.
 * - `renameFromStaging` (`atomic_nodirsync`, `atomic_dirsync`): files go into
 *   `.staging/<step>-<nonce>`, each fsynced; the directory is renamed into
 *   place only when complete. With `atomic_dirsync` every directory whose
 *   entries changed is fsynced too, so the rename survives power loss.
 */
import { posix as path } from 'node:path';
import { HoldfastError } from '../errors.js';
import { MANIFEST_FILE, STAGING_DIR, checkpointDirName, stagingDirName } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { removeTree, statOrUndefined } from '../fs/file-utils.js';
import type { DurabilityMode } from '../format/vocabulary.js';

export interface CheckpointTarget {
  /** Directory the save writes its files into. */
  readonly dir: string;
  /** Final directory of the committed checkpoint. */
  readonly finalDir: string;
  /** fsync each file before close (the atomic modes). */
  readonly syncFiles: boolean;
  /** Makes the written directory the committed checkpoint. Call once, after every file is written. */
  finalize(): Promise<void>;
  /** Best-effort removal of what an abandoned save wrote; never throws. */
  abandon(): Promise<void>;
}

export async function prepareTarget(
  fs: FileSystem,
  root: string,
  step: number,
  nonce: string,
  mode: DurabilityMode,
): Promise<CheckpointTarget> {
  const finalDir = path.join(root, checkpointDirName(step));
  const syncDirs = mode === 'atomic_dirsync';
  await clearStep(fs, root, finalDir, step, nonce, syncDirs);
  return mode === 'unsafe' ? writeInPlace(fs, finalDir) : renameFromStaging(fs, root, finalDir, step, nonce, syncDirs);
}

/**
 * A committed step is never overwritten. A `ckpt-<step>` directory without a manifest is not a
 * checkpoint (an interrupted `unsafe` save, or one whose manifest a power cut lost): it is moved
 * into staging, where gc sweeps it, so the step can be saved again.
 */
async function clearStep(fs: FileSystem, root: string, finalDir: string, step: number, nonce: string, syncDirs: boolean): Promise<void> {
  if ((await statOrUndefined(fs, finalDir)) === undefined) return;
  if ((await statOrUndefined(fs, path.join(finalDir, MANIFEST_FILE))) !== undefined) {
    throw new HoldfastError('HF_STEP_EXISTS', `step ${step} already exists at ${finalDir}: a committed checkpoint is never overwritten`, {
      path: finalDir,
      data: { step },
    });
  }
  const stagingRoot = await ensureStagingRoot(fs, root, syncDirs);
  await fs.rename(finalDir, path.join(stagingRoot, `${stagingDirName(step, nonce)}-incomplete`));
  if (syncDirs) {
    await fs.syncDir(root);
    await fs.syncDir(stagingRoot);
  }
}

/** `<root>/.staging`, created (and made durable with `syncDirs`) if missing. */
export async function ensureStagingRoot(fs: FileSystem, root: string, syncDirs: boolean): Promise<string> {
  const stagingRoot = path.join(root, STAGING_DIR);
  if ((await statOrUndefined(fs, stagingRoot)) === undefined) {
    await fs.mkdir(stagingRoot);
    // The staging root's own entry must survive a crash, or every later rename source vanishes with it.
    if (syncDirs) await fs.syncDir(root);
  }
  return stagingRoot;
}

async function writeInPlace(fs: FileSystem, finalDir: string): Promise<CheckpointTarget> {
  await fs.mkdir(finalDir);
  return {
    dir: finalDir,
    finalDir,
    syncFiles: false,
    finalize: async () => {},
    // `unsafe` leaves its partial files (the cleanup a crash would skip), but a failed save must not
    // look committed: drop the manifest if it got written.
    abandon: async () => {
      try {
        await fs.unlink(path.join(finalDir, MANIFEST_FILE));
      } catch {
        // Not written, or unremovable: readers verify it either way.
      }
    },
  };
}

async function renameFromStaging(
  fs: FileSystem,
  root: string,
  finalDir: string,
  step: number,
  nonce: string,
  syncDirs: boolean,
): Promise<CheckpointTarget> {
  const stagingRoot = await ensureStagingRoot(fs, root, syncDirs);
  const dir = path.join(stagingRoot, stagingDirName(step, nonce));
  await fs.mkdir(dir);
  if (syncDirs) await fs.syncDir(stagingRoot);
  let renamed = false;
  return {
    dir,
    finalDir,
    syncFiles: true,
    finalize: async () => {
      // fsync(file) never makes a file's name durable: the staging dir's entries need their own fsync.
      if (syncDirs) await fs.syncDir(dir);
      await fs.rename(dir, finalDir);
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
