/**
 * Discovery (DESIGN §8.1): the checkpoint directories of a store. Only
 * `ckpt-<step>` directories holding a `manifest.json` are committed; staging,
 * quarantine and `unsafe` leftovers without a manifest are never candidates.
 * Being listed is not being trusted: callers verify before use.
 */
import { posix as path } from 'node:path';
import { MANIFEST_FILE, parseCheckpointDirName } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';

export interface DiscoveredCheckpoint {
  step: number;
  dir: string;
}

/** Committed checkpoints, oldest first. */
export async function discoverCheckpoints(fs: FileSystem, root: string): Promise<DiscoveredCheckpoint[]> {
  const found: DiscoveredCheckpoint[] = [];
  for (const name of await fs.readdir(root)) {
    const step = parseCheckpointDirName(name);
    if (step === undefined) continue;
    const dir = path.join(root, name);
    if ((await statOrUndefined(fs, dir))?.type !== 'directory') continue;
    if ((await statOrUndefined(fs, path.join(dir, MANIFEST_FILE))) === undefined) continue;
    found.push({ step, dir });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** `ckpt-*` directories without a manifest: what an interrupted `unsafe` save leaves. */
export async function discoverIncomplete(fs: FileSystem, root: string): Promise<DiscoveredCheckpoint[]> {
  const found: DiscoveredCheckpoint[] = [];
  for (const name of await fs.readdir(root)) {
    const step = parseCheckpointDirName(name);
    if (step === undefined) continue;
    const dir = path.join(root, name);
    if ((await statOrUndefined(fs, dir))?.type !== 'directory') continue;
    if ((await statOrUndefined(fs, path.join(dir, MANIFEST_FILE))) !== undefined) continue;
    found.push({ step, dir });
  }
  return found;
}
