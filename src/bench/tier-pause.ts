/**
 * The training pause of `saveAsync` on a tiered store (`openStore({ local,
 * durable: 's3://…' })`) beside the same on the local store alone: saves in a
 * row, each started once the previous one committed locally, so on the tiered
 * store the previous checkpoint's upload runs during the next save, as in
 * training. The first pause allocates the staging memory; the steady ones
 * reuse it.
 */
import { posix as path } from 'node:path';
import { openStore, type Store, type Tensor } from '../index.js';
import type { FileSystem } from '../fs/file-system.js';
import { removeTree } from '../fs/file-utils.js';
import { median } from './stats.js';

export interface TierPause {
  bytes: number;
  localMs: number[];
  tieredMs: number[];
  localSteadyMs: number;
  tieredSteadyMs: number;
  /** Tiered: from the last local commit until every upload was durable (`flush()`). */
  drainMs: number;
}

export async function tierPause(fs: FileSystem, work: string, bucket: string, tensors: Record<string, Tensor>, bytes: number, repeat: number): Promise<TierPause> {
  const saves = Math.max(3, repeat + 1);
  const localDir = path.join(work, 'tier-pause-local');
  const local = await openStore(localDir);
  const localMs = await pauses(local, tensors, saves);
  await local.close();
  await removeTree(fs, localDir);

  const tierDir = path.join(work, 'tier-pause-tiered');
  const tiered = await openStore({ local: tierDir, durable: `s3://${bucket}/tier-pause` });
  const tieredMs = await pauses(tiered, tensors, saves);
  const t0 = performance.now();
  await tiered.close(); // waits for the uploads
  const drainMs = performance.now() - t0;
  await removeTree(fs, tierDir);
  return { bytes, localMs, tieredMs, localSteadyMs: median(localMs.slice(1)), tieredSteadyMs: median(tieredMs.slice(1)), drainMs };
}

async function pauses(store: Store, tensors: Record<string, Tensor>, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let step = 1; step <= count; step++) {
    const t0 = performance.now();
    const handle = store.saveAsync(step, { tensors, state: { step } });
    // The slot is free (the previous save committed), so the copy happened inside the call.
    out.push(performance.now() - t0);
    await handle.committed;
  }
  return out;
}
