/**
 * How commands open a store. Read-only commands never create anything: a
 * missing directory, or one without `holdfast.json`, is "no store" (exit 1)
 * rather than a store initialised as a side effect of `ls` or `verify`.
 * Store events (quarantine, progress) are reported on stderr.
 */
import { posix as path } from 'node:path';
import { STORE_DESCRIPTOR } from '../format/names.js';
import { statOrUndefined } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { HoldfastError, openStore, type DurabilityMode, type Store, type StoreEvent } from '../index.js';
import type { CliIo } from './command.js';
import { escapeControl, formatBytes } from './output.js';

/** Opens an existing store without creating or writing anything to open it. */
export async function openExistingStore(command: string, root: string, io: CliIo): Promise<Store> {
  if (root.startsWith('s3://')) return openStore(root, { create: false, onEvent: reportEvents(command, io) });
  const fs = new PosixFileSystem();
  const absRoot = path.resolve(root);
  const st = await statOrUndefined(fs, absRoot);
  // openStore would write a fresh descriptor into any directory; for a reader that is not a store.
  if (st?.type === 'directory' && (await statOrUndefined(fs, path.join(absRoot, STORE_DESCRIPTOR))) === undefined) {
    throw new HoldfastError('HF_NOT_FOUND', `no store at ${absRoot} (a directory without ${STORE_DESCRIPTOR})`, { path: absRoot });
  }
  return openStore(absRoot, { fs, create: false, onEvent: reportEvents(command, io) });
}

/** Opens a store for writing, creating it if missing. */
export function openOrCreateStore(command: string, root: string, io: CliIo, durability?: DurabilityMode): Promise<Store> {
  return openStore(root, { create: true, onEvent: reportEvents(command, io), ...(durability ? { durability } : {}) });
}

function reportEvents(command: string, io: CliIo): (event: StoreEvent) => void {
  return (event) => {
    if (event.type === 'quarantined') {
      io.stderr(escapeControl(`holdfast ${command}: checkpoint ${event.step} failed verification (${event.reason}); quarantined to ${event.movedTo}`));
    } else if (event.type === 'warning') {
      io.stderr(escapeControl(`holdfast ${command}: warning: ${event.message}`));
    } else if (event.type === 'progress' && io.progress !== undefined && event.totalBytes > 0) {
      const pct = Math.floor((100 * event.doneBytes) / event.totalBytes);
      io.progress(`${event.phase} ${pct}% (${formatBytes(event.doneBytes)} / ${formatBytes(event.totalBytes)})`);
    }
    // 'rolled-back' follows each 'quarantined' and says nothing new on a terminal.
  };
}
