/**
 * realpath(3) for the paths users hand in (is this module the entry point,
 * when npm installed its bin as a symlink? where does `/data` really point?).
 * Not part of `FileSystem`: data inside a store never resolves links, it
 * refuses them.
 */
import { realpathSync } from 'node:fs';
import { posix as path } from 'node:path';

export function realPathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * A path of the user's own (a store root, `restore --to`, a file to commit) with its symlinks
 * resolved, once, on the way in: `/data -> /mnt/nvme` is a common setup. The part that does not
 * exist yet is kept as written under the resolved existing prefix.
 */
export function resolveUserPath(absolute: string): string {
  const real = realPathOrUndefined(absolute);
  if (real !== undefined) return real;
  const parent = path.dirname(absolute);
  return parent === absolute ? absolute : path.join(resolveUserPath(parent), path.basename(absolute));
}
