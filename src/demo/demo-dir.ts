/**
 * The demo's working directory: wiped at every start, but only if the demo
 * made it. A marker file says so; a non-empty directory without it is
 * refused, so a mistyped `--store ~/important` cannot delete anything.
 * All I/O goes through the `FileSystem`.
 */
import { posix as path } from 'node:path';
import { invalidArg } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDirTree, removeTree, statOrUndefined, writeNewFile } from '../fs/file-utils.js';

const DEMO_MARKER = 'holdfast-demo.json';

/** Empties (or creates) `dir` and marks it as the demo's; returns its absolute path. */
export async function prepareDemoDir(fs: FileSystem, dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const st = await statOrUndefined(fs, abs);
  if (st !== undefined) {
    if (st.type !== 'directory') throw invalidArg(`--store ${abs} exists and is not a directory`);
    const names = await fs.readdir(abs);
    if (names.length > 0 && !names.includes(DEMO_MARKER)) {
      throw invalidArg(`refusing to wipe ${abs}: it is not empty and was not created by the demo (no ${DEMO_MARKER})`);
    }
    await removeTree(fs, abs);
  }
  await ensureDirTree(fs, abs);
  const marker = JSON.stringify({ createdBy: 'holdfast demo', note: 'wiped and recreated by every `npm start`' }) + '\n';
  await writeNewFile(fs, path.join(abs, DEMO_MARKER), new TextEncoder().encode(marker), { sync: false });
  return abs;
}
