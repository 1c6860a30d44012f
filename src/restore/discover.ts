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
  return (await scanCheckpointDirs(fs, root)).committed;
}

/** `ckpt-*` directories without a manifest: what an interrupted `unsafe` save leaves. */
export async function discoverIncomplete(fs: FileSystem, root: string): Promise<DiscoveredCheckpoint[]> {
  return (await scanCheckpointDirs(fs, root)).incomplete;
}

async function scanCheckpointDirs(fs: FileSystem, root: string): Promise<{ committed: DiscoveredCheckpoint[]; incomplete: DiscoveredCheckpoint[] }> {
  const committed: DiscoveredCheckpoint[] = [];
  const incomplete: DiscoveredCheckpoint[] = [];
  for (const name of await fs.readdir(root)) {
    const step = parseCheckpointDirName(name);
    if (step === undefined) continue;
    const dir = path.join(root, name);
    if ((await statOrUndefined(fs, dir))?.type !== 'directory') continue;
    const hasManifest = (await statOrUndefined(fs, path.join(dir, MANIFEST_FILE))) !== undefined;
    (hasManifest ? committed : incomplete).push({ step, dir });
  }
  committed.sort((a, b) => a.step - b.step);
  return { committed, incomplete };
}
