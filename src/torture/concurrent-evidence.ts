/**
 * What a violated round of the concurrency campaign keeps for a human: the
 * round's directory (store, commit log, every child's event lines) instead
 * of deleting it, and why each checkpoint was quarantined, so a one-in-a-
 * thousand interleaving that does not replay still leaves its traces.
 */
import { posix as path } from 'node:path';
import { AUDIT_LOG } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDir, readWholeFile, statOrUndefined } from '../fs/file-utils.js';

/** One move to quarantine: from the store's audit log, or reported by the child that made it. */
export interface QuarantineRecord {
  step: number;
  reason: string;
  /** Who moved it: `audit pid N` or the child's label. */
  by: string;
  at?: string;
  movedTo?: string;
}

/** The audit log's `quarantine` lines (best effort: the log is unsynced; a torn line names nothing). */
export async function auditedQuarantines(fs: FileSystem, root: string): Promise<QuarantineRecord[]> {
  const p = path.join(root, AUDIT_LOG);
  if ((await statOrUndefined(fs, p))?.type !== 'file') return [];
  const out: QuarantineRecord[] = [];
  for (const line of new TextDecoder().decode(await readWholeFile(fs, p)).split('\n')) {
    try {
      const e = JSON.parse(line) as { action?: string; step?: number; reason?: string; pid?: number; at?: string; movedTo?: string };
      if (e.action !== 'quarantine' || typeof e.step !== 'number') continue;
      out.push({ step: e.step, reason: String(e.reason), by: `audit pid ${e.pid}`, ...(e.at !== undefined ? { at: e.at } : {}), ...(e.movedTo !== undefined ? { movedTo: e.movedTo } : {}) });
    } catch {
      // A torn or empty line.
    }
  }
  return out;
}

/** "why: …" for a violation message: every known reason `step` was quarantined, or that none was recorded. */
export function describeQuarantines(step: number, records: readonly QuarantineRecord[]): string {
  const mine = records.filter((r) => r.step === step);
  if (mine.length === 0) return 'no quarantine reason recorded (audit log and child reports name none)';
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const r of mine) {
    const text = `${r.reason} (${r.by}${r.at !== undefined ? ` at ${r.at}` : ''})`;
    if (!seen.has(text)) (seen.add(text), parts.push(text));
  }
  return `quarantined because: ${parts.join('; ')}`;
}

/** Copies a tree (a store on a tmpfs that is about to be unmounted); symlinks and other entries are skipped. */
export async function copyTree(fs: FileSystem, from: string, to: string): Promise<void> {
  const st = await statOrUndefined(fs, from);
  if (st?.type === 'directory') {
    await ensureDir(fs, to);
    for (const name of await fs.readdir(from)) await copyTree(fs, path.join(from, name), path.join(to, name));
    return;
  }
  if (st?.type !== 'file') return;
  const data = await readWholeFile(fs, from);
  const fh = await fs.open(to, 'create');
  try {
    await fh.pwrite(data, 0);
  } finally {
    await fh.close();
  }
}
