/**
 * The places of a local store (DESIGN §4) and the rule that every one of
 * them is a real directory inside the store: a `.staging` or `.quarantine`
 * that is a symlink would send a save's bytes, or a quarantined checkpoint,
 * outside the store, so it is refused rather than followed.
 */
import { posix as path } from 'node:path';
import { HoldfastError } from '../errors.js';
import { LEASE_DIR, QUARANTINE_DIR, RECORDS_DIR, STAGING_DIR } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { describeEntryType, type EntryType } from '../fs/file-system.js';
import { ensureDir, statOrUndefined } from '../fs/file-utils.js';

export interface LocalLayout {
  readonly fs: FileSystem;
  /** Absolute, already resolved store root. */
  readonly root: string;
  /** fsync every directory whose entries change (`atomic_dirsync`). */
  readonly syncDirs: boolean;
}

/** `<root>/.staging`, created (and made durable with `syncDirs`) if missing. */
export function ensureStagingRoot(layout: LocalLayout): Promise<string> {
  return ensureStoreDir(layout, STAGING_DIR);
}

/** `<root>/.quarantine`, created (and made durable with `syncDirs`) if missing. */
export function ensureQuarantineRoot(layout: LocalLayout): Promise<string> {
  return ensureStoreDir(layout, QUARANTINE_DIR);
}

/** `<root>/.lease`, created (and made durable with `syncDirs`) if missing. */
export function ensureLeaseRoot(layout: LocalLayout): Promise<string> {
  return ensureStoreDir(layout, LEASE_DIR);
}

/** `<root>/.records`, created (and made durable with `syncDirs`) if missing. */
export function ensureRecordsRoot(layout: LocalLayout): Promise<string> {
  return ensureStoreDir(layout, RECORDS_DIR);
}

async function ensureStoreDir(layout: LocalLayout, name: string): Promise<string> {
  const { fs, root, syncDirs } = layout;
  const dir = path.join(root, name);
  const st = await statOrUndefined(fs, dir);
  if (st !== undefined) {
    assertPlainDir(dir, st.type);
    return dir;
  }
  // Another process may create it at the same moment: fine, it is a directory then. The entry of one
  // we created must survive a crash, or every later rename source vanishes with it.
  if ((await ensureDir(fs, dir)) && syncDirs) await fs.syncDir(root);
  return dir;
}

export function assertPlainDir(dir: string, type: EntryType): void {
  if (type !== 'directory') {
    throw new HoldfastError('HF_IO', `${dir} is ${describeEntryType(type)}, expected a directory inside the store (symlinks inside a store are refused)`, { path: dir, data: { found: type } });
  }
}
