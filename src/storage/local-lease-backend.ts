/**
 * The writer lease's record in a local store: `<root>/.lease/record`, created
 * with O_EXCL and retired by renaming it to a unique name beside it (rename
 * is atomic: of several processes retiring one record, one wins and the
 * others find nothing), read back, and unlinked. Everything the lease writes
 * stays in `.lease/`, away from the checkpoints and their staging.
 *
 * Nothing here is fsynced: a power cut that loses a record also killed every
 * holder on this machine, and a holder elsewhere that lost its record fails
 * its next `assertCurrent` rather than committing.
 */
import { posix as path } from 'node:path';
import { HoldfastError, isHoldfastError } from '../errors.js';
import { LEASE_DIR, LEASE_RECORD } from '../format/names.js';
import { newNonce } from '../format/nonce.js';
import { describeEntryType } from '../fs/file-system.js';
import { readFileIfRegular, statOrUndefined, writeNewFile } from '../fs/file-utils.js';
import type { LeaseBackend } from './checkpoint-storage.js';
import { ensureLeaseRoot, type LocalLayout } from './local-layout.js';

const LEASE_MAX_BYTES = 64 * 1024;

export function localLeaseBackend(layout: LocalLayout): LeaseBackend {
  const { fs, root } = layout;
  const dir = path.join(root, LEASE_DIR);
  const p = path.join(dir, LEASE_RECORD);
  const readIfPresent = async (at: string): Promise<Uint8Array | undefined> => {
    const st = await statOrUndefined(fs, at);
    if (st !== undefined && st.type !== 'file') throw new HoldfastError('HF_IO', `${at} is ${describeEntryType(st.type)}, expected a regular file (the writer lease)`, { path: at });
    return readFileIfRegular(fs, at, LEASE_MAX_BYTES);
  };
  return {
    location: p,
    read: () => readIfPresent(p),
    createExclusive: async (record) => {
      await ensureLeaseRoot(layout);
      try {
        await writeNewFile(fs, p, record, { sync: false });
      } catch (e) {
        if (isHoldfastError(e) && e.data['errno'] === 'EEXIST') return false;
        throw e;
      }
      return true;
    },
    retire: async () => {
      const to = path.join(dir, `${newNonce()}.retired`);
      try {
        await fs.rename(p, to);
      } catch (e) {
        if (isHoldfastError(e, 'HF_NOT_FOUND')) return undefined;
        throw e;
      }
      const bytes = (await readIfPresent(to)) ?? new Uint8Array(0);
      await fs.unlink(to);
      return bytes;
    },
  };
}
