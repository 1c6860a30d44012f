/**
 * A multi-rank attempt on a local (or shared POSIX) store: every rank joins
 * `.staging/<step>-<nonce>/`, writes its fsynced files there and its record
 * under `records/`; the leader writes SHA256SUMS and the manifest into the
 * same directory and commits with one rename to `ckpt-<step>` plus directory
 * fsyncs, as a single-process save does (local-writer.ts). Unlike it, an
 * existing `ckpt-<step>` is never moved aside: with many writers another
 * leader may be committing it right now, so a leftover without a manifest
 * stays for gc and the step is refused.
 */
import { posix as path } from 'node:path';
import { HoldfastError } from '../errors.js';
import { sameBytes } from '../format/bytes.js';
import { MANIFEST_FILE, ATTEMPT_RECORDS_DIR, SHA256SUMS_FILE, checkpointDirName, stagingDirName } from '../format/names.js';
import { ensureDir, readFileIfRegular, statOrUndefined, writeNewFile } from '../fs/file-utils.js';
import type { FileWriteOptions } from '../io/io-options.js';
import { writeFileParts, type WrittenFile } from '../io/write-file-parts.js';
import type { AttemptArea, StoredFileInfo } from './checkpoint-storage.js';
import { ensureStagingRoot, type LocalLayout } from './local-layout.js';
import { createRecordDir, listRecordDirs, readRecordDir } from './local-record-dir.js';

export async function joinLocalAttempt(layout: LocalLayout, step: number, nonce: string): Promise<AttemptArea> {
  const { fs, root, syncDirs } = layout;
  const stagingRoot = await ensureStagingRoot(layout);
  const dir = path.join(stagingRoot, stagingDirName(step, nonce));
  if ((await ensureDir(fs, dir)) && syncDirs) await fs.syncDir(stagingRoot);
  const records = path.join(dir, ATTEMPT_RECORDS_DIR);
  const finalDir = path.join(root, checkpointDirName(step));
  return {
    step,
    nonce,
    location: dir,
    writeFile: (name: string, parts: readonly Uint8Array[], options: FileWriteOptions): Promise<WrittenFile> => writeFileParts(fs, path.join(dir, name), parts, { ...options, sync: true }),
    statFile: async (name): Promise<StoredFileInfo | undefined> => {
      const st = await statOrUndefined(fs, path.join(dir, name));
      return st === undefined ? undefined : { kind: st.type === 'file' ? 'file' : st.type, sizeBytes: st.sizeBytes };
    },
    putRecord: async (name, bytes) => {
      // The records directory's own entry must be durable before a record inside it is reported.
      if ((await ensureDir(fs, records)) && syncDirs) await fs.syncDir(dir);
      return createRecordDir(fs, records, name, bytes, syncDirs);
    },
    readRecord: (name) => readRecordDir(fs, records, name),
    listRecords: () => listRecordDirs(fs, records),
    commit: async (manifest, sums) => {
      await writeNewFile(fs, path.join(dir, SHA256SUMS_FILE), sums, { sync: true });
      await writeNewFile(fs, path.join(dir, MANIFEST_FILE), manifest, { sync: true });
      if (syncDirs) await fs.syncDir(dir);
      try {
        await fs.rename(dir, finalDir);
      } catch (e) {
        // rename onto a non-empty ckpt-<step> fails; a replayed rename (NFS) may fail after succeeding.
        const there = await readFileIfRegular(fs, path.join(finalDir, MANIFEST_FILE), manifest.byteLength + 1);
        if (there === undefined || !sameBytes(there, manifest)) throw stepTaken(step, finalDir, there !== undefined, e);
      }
      // The rename lives in both parents; only after these fsyncs does the commit survive power loss.
      if (syncDirs) {
        await fs.syncDir(root);
        await fs.syncDir(stagingRoot);
      }
    },
  };
}

function stepTaken(step: number, finalDir: string, committed: boolean, cause: unknown): HoldfastError {
  const why = committed ? 'another attempt committed it first' : 'it holds a leftover without a manifest (gc quarantines it; many-writer stores never move it aside)';
  return new HoldfastError('HF_STEP_EXISTS', `step ${step} already exists at ${finalDir}: ${why}`, { path: finalDir, data: { step }, cause });
}
