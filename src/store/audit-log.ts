/**
 * `audit.log`: append-only JSON lines of who saved, restored, quarantined or
 * deleted what, and when. Best effort and unsynced: it is a record for
 * humans, never consulted for correctness, so it must not fail a save.
 */
import { posix as path } from 'node:path';
import { userInfo } from 'node:os';
import { AUDIT_LOG } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';

export type AuditAction = 'save' | 'restore' | 'quarantine' | 'delete' | 'gc-staging';

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function appendAudit(fs: FileSystem, root: string, action: AuditAction, details: Record<string, unknown>): Promise<void> {
  const p = path.join(root, AUDIT_LOG);
  const line = JSON.stringify({ at: new Date().toISOString(), action, user: currentUser(), pid: process.pid, ...details }) + '\n';
  try {
    let fh;
    try {
      fh = await fs.open(p, 'write');
    } catch {
      fh = await fs.open(p, 'create');
    }
    try {
      const { sizeBytes } = await fh.stat();
      await fh.pwrite(new TextEncoder().encode(line), sizeBytes);
    } finally {
      await fh.close();
    }
  } catch {
    // An audit line is not worth failing a save or restore over.
  }
}
