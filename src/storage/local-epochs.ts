/** Epoch records of a local store: `<root>/epochs/<E:020>/record.json`, created whole and exclusively (local-record-dir.ts). */
import { posix as path } from 'node:path';
import { EPOCHS_DIR, epochRecordName, parseEpochRecordName } from '../format/names.js';
import { ensureDir } from '../fs/file-utils.js';
import type { EpochBackend } from './checkpoint-storage.js';
import type { LocalLayout } from './local-layout.js';
import { createRecordDir, listRecordDirs, readRecordDir } from './local-record-dir.js';

export function localEpochBackend(layout: LocalLayout): EpochBackend {
  const { fs, root, syncDirs } = layout;
  const dir = path.join(root, EPOCHS_DIR);
  return {
    location: dir,
    list: async () => (await listRecordDirs(fs, dir)).map(parseEpochRecordName).filter((e): e is number => e !== undefined).sort((a, b) => a - b),
    read: (epoch) => readRecordDir(fs, dir, epochRecordName(epoch)),
    createExclusive: async (epoch, record) => {
      if ((await ensureDir(fs, dir)) && syncDirs) await fs.syncDir(root);
      return createRecordDir(fs, dir, epochRecordName(epoch), record, syncDirs);
    },
  };
}
