/** Who wrote a checkpoint, recorded in its manifest. */
import { hostname, userInfo } from 'node:os';
import type { Provenance } from '../format/manifest-types.js';
import { LIBRARY_VERSION } from '../version.js';

export function currentProvenance(extra: { gitCommit?: string | undefined; configHash?: string | undefined } = {}): Provenance {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep 'unknown' rather than fail a save.
  }
  const p: Provenance = { library: LIBRARY_VERSION, host: hostname(), user, pid: process.pid, node: process.version, platform: `${process.platform}-${process.arch}` };
  if (extra.gitCommit !== undefined) p.gitCommit = extra.gitCommit;
  if (extra.configHash !== undefined) p.configHash = extra.configHash;
  return p;
}
