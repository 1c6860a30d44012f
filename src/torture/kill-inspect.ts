/**
 * What a kill left on disk, looked at before restore touches anything: the
 * analogue of the seed paper's Figure 4 (failure reasons in unsafe mode).
 * Only the steps the killed child began are examined; older checkpoints were
 * checked by earlier trials and no process has written them since.
 *
 * Labels, most severe first (one per trial):
 * - `torn-shard:<reason>`  a `ckpt-*` dir whose manifest parses but a file fails verification
 * - `torn-manifest`        a `ckpt-*` dir whose manifest.json is empty or cut (restore quarantines it)
 * - `incomplete-dir`       a `ckpt-*` dir without manifest.json (discovery ignores it; gc removes it)
 * - `staging-leftover`     a partial save inside `.staging/` only (never read; gc removes it)
 * - `clean`                nothing partial anywhere (the kill fell between saves or right after a commit)
 * The first three are a partial checkpoint visible under its final name,
 * which the atomic modes promise never to leave.
 */
import { posix as path } from 'node:path';
import { MANIFEST_FILE, STAGING_DIR, checkpointDirName } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';
import type { Store } from '../store/types.js';

export type DiskLabel = 'clean' | 'staging-leftover' | 'incomplete-dir' | 'torn-manifest' | `torn-shard:${string}`;

interface DiskInspection {
  label: DiskLabel;
  /** One line per partial thing found, for the trial log. */
  details: string[];
}

/** Whether a label means a partial checkpoint was visible under a final `ckpt-*` name. */
export function isPartialVisible(label: DiskLabel): boolean {
  return label !== 'clean' && label !== 'staging-leftover';
}

const SEVERITY = (label: DiskLabel): number =>
  label.startsWith('torn-shard:') ? 4 : label === 'torn-manifest' ? 3 : label === 'incomplete-dir' ? 2 : label === 'staging-leftover' ? 1 : 0;

export async function inspectAfterKill(fs: FileSystem, store: Store, steps: readonly number[]): Promise<DiskInspection> {
  let label: DiskLabel = 'clean';
  const details: string[] = [];
  const worse = (l: DiskLabel, detail: string): void => {
    details.push(detail);
    if (SEVERITY(l) > SEVERITY(label)) label = l;
  };
  const staging = path.join(store.root, STAGING_DIR);
  if ((await statOrUndefined(fs, staging))?.type === 'directory') {
    for (const name of await fs.readdir(staging)) worse('staging-leftover', `${STAGING_DIR}/${name}`);
  }
  for (const step of steps) {
    const dir = path.join(store.root, checkpointDirName(step));
    if ((await statOrUndefined(fs, dir)) === undefined) continue;
    if ((await statOrUndefined(fs, path.join(dir, MANIFEST_FILE))) === undefined) {
      const files = await fs.readdir(dir);
      worse('incomplete-dir', `${checkpointDirName(step)}: no manifest (${files.length} file(s): ${files.join(', ')})`);
      continue;
    }
    const [report] = await store.verify(step);
    if (report === undefined || report.ok) continue;
    const p = report.problems[0]!;
    if (p.file === MANIFEST_FILE) worse('torn-manifest', `${checkpointDirName(step)}: manifest ${p.reason}: ${p.message}`);
    else worse(`torn-shard:${p.reason}`, `${checkpointDirName(step)}: ${p.file} ${p.reason}: ${p.message}`);
  }
  return { label, details };
}
