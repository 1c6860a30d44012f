/**
 * The store's small named records on a local disk: `<root>/.records/<name>`.
 * A record is replaced the way the descriptor is created (temporary file,
 * fsync, rename, directory fsync), so a crash leaves the old record or the
 * new one, never a torn one; temporaries a crash left (`.<name>.<nonce>.tmp`)
 * are not records and sweep removes them.
 */
import { posix as path } from 'node:path';
import { isHoldfastError } from '../errors.js';
import { RECORDS_DIR, assertValidRecordName } from '../format/names.js';
import { newNonce } from '../format/nonce.js';
import { readFileIfRegular, statOrUndefined, writeNewFile } from '../fs/file-utils.js';
import type { RecordStore } from './checkpoint-storage.js';
import { assertPlainDir, ensureRecordsRoot, type LocalLayout } from './local-layout.js';

/** Records are small by design (a tag names one step). */
const RECORD_MAX_BYTES = 64 * 1024;

export function localRecordStore(layout: LocalLayout, durable: boolean): RecordStore {
  const { fs, root, syncDirs } = layout;
  const dir = path.join(root, RECORDS_DIR);
  const existingDir = async (): Promise<boolean> => {
    const st = await statOrUndefined(fs, dir);
    if (st !== undefined) assertPlainDir(dir, st.type);
    return st !== undefined;
  };
  return {
    async list() {
      if (!(await existingDir())) return [];
      return (await fs.readdir(dir)).filter((name) => !name.startsWith('.')).sort();
    },
    async read(name) {
      assertValidRecordName(name);
      return readFileIfRegular(fs, path.join(dir, name), RECORD_MAX_BYTES);
    },
    async write(name, bytes) {
      assertValidRecordName(name);
      const recordsDir = await ensureRecordsRoot(layout);
      const tmp = path.join(recordsDir, `.${name}.${newNonce()}.tmp`);
      try {
        await writeNewFile(fs, tmp, bytes, { sync: durable });
        await fs.rename(tmp, path.join(recordsDir, name));
      } catch (e) {
        await fs.unlink(tmp).catch(() => undefined);
        throw e;
      }
      if (syncDirs) await fs.syncDir(recordsDir);
    },
    async remove(name) {
      assertValidRecordName(name);
      if (!(await existingDir())) return;
      try {
        await fs.unlink(path.join(dir, name));
      } catch (e) {
        if (isHoldfastError(e, 'HF_NOT_FOUND')) return;
        throw e;
      }
      if (syncDirs) await fs.syncDir(dir);
    },
  };
}
