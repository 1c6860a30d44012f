/**
 * realpath(3) for process plumbing (is this module the entry point, when npm
 * installed its bin as a symlink?). Not part of `FileSystem`: checkpoint data
 * never resolves links, it refuses them.
 */
import { realpathSync } from 'node:fs';

export function realPathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}
