/**
 * `audit.log`: append-only JSON lines of who saved, restored, quarantined or
 * deleted what, and when. Best effort and unsynced: it is a record for
 * humans, never consulted for correctness, so it must not fail a save.
 * Anything but a regular file in its place (a FIFO would block the open
 * forever, after the commit) is left alone and the line is dropped.
 */
import { posix as path } from 'node:path';
import { userInfo } from 'node:os';
import { AUDIT_LOG } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';
import type { AuditAction } from './checkpoint-storage.js';

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** One JSON line; control characters in the details are escaped by JSON, so a line never splits. */
export function auditLine(action: AuditAction, details: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ at: new Date().toISOString(), action, user: currentUser(), pid: process.pid, ...details }) + '\n');
}

export async function appendAudit(fs: FileSystem, root: string, action: AuditAction, details: Record<string, unknown>): Promise<void> {
  const p = path.join(root, AUDIT_LOG);
  try {
    const st = await statOrUndefined(fs, p);
    if (st !== undefined && st.type !== 'file') return;
    // One write per line, in append mode: lines of several processes interleave whole.
    const fh = await fs.open(p, 'append');
    try {
      await fh.pwrite(auditLine(action, details), 0);
    } finally {
      await fh.close();
    }
  } catch {
    // An audit line is not worth failing a save or restore over.
  }
}
