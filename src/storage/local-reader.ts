/**
 * A committed local checkpoint, opened for reading: names inside it are
 * joined to its directory, and every directory on the way to a file must be
 * a plain directory (lstat, one component at a time), so a symlinked
 * subdirectory cannot make verification read bytes from outside the store.
 * Files themselves are opened O_NOFOLLOW by the FileSystem.
 */
import { posix as path } from 'node:path';
import type { FileSystem } from '../fs/file-system.js';
import { readWholeFile, statOrUndefined } from '../fs/file-utils.js';
import { readFileHashed } from '../io/read-file-hashed.js';
import type { CheckpointReader, StoredFileInfo } from './checkpoint-storage.js';

export function localCheckpointReader(fs: FileSystem, dir: string, step: number): CheckpointReader {
  const locate = (name: string): string => path.join(dir, name);
  return {
    step,
    location: dir,
    locate,
    statFile: (name) => statInside(fs, dir, name),
    readSmallFile: (name, maxBytes) => readWholeFile(fs, locate(name), maxBytes),
    readRange: async (name, offset, into) => {
      const fh = await fs.open(locate(name), 'read');
      try {
        return await fh.pread(into, offset);
      } finally {
        await fh.close();
      }
    },
    readHashed: (name, expectedSizeBytes, options) => readFileHashed(fs, locate(name), expectedSizeBytes, options),
  };
}

async function statInside(fs: FileSystem, dir: string, name: string): Promise<StoredFileInfo | undefined> {
  const parts = name.split('/');
  let at = dir;
  for (const part of parts.slice(0, -1)) {
    at = path.join(at, part);
    const st = await statOrUndefined(fs, at);
    if (st === undefined) return undefined;
    if (st.type !== 'directory') return { kind: st.type === 'file' ? 'other' : st.type, sizeBytes: 0 };
  }
  const st = await statOrUndefined(fs, path.join(dir, name));
  return st === undefined ? undefined : { kind: st.type, sizeBytes: st.sizeBytes };
}
