/** The training-loop pause of the public `store.saveAsync`, against one plain copy of the state. */
import type { Store, Tensor } from '../index.js';
import { tensorBytes } from '../format/dtype.js';
import { removeTree } from '../fs/file-utils.js';
import { median } from './stats.js';
import type { AsyncPause } from './types.js';
import type { WorkloadRun } from './workload-run.js';

/** Milliseconds of one plain copy of every tensor into already-touched memory, and into new memory. */
function memcpyCosts(tensors: Record<string, Tensor>, bytes: number): { memcpyMs: number; freshMemcpyMs: number } {
  const copyInto = (dst: Uint8Array): void => {
    let off = 0;
    for (const t of Object.values(tensors)) {
      dst.set(tensorBytes(t), off);
      off += t.data.byteLength;
    }
  };
  // One plain copy into memory that is already touched: the cost the pause should not exceed.
  const dst = new Uint8Array(bytes);
  const copy = (): number => {
    const t0 = performance.now();
    copyInto(dst);
    return performance.now() - t0;
  };
  copy();
  const memcpyMs = Math.min(copy(), copy());
  // The same copy into new memory: what any first copy of the state costs on this machine.
  const t1 = performance.now();
  copyInto(new Uint8Array(bytes));
  return { memcpyMs, freshMemcpyMs: performance.now() - t1 };
}

export async function asyncPause(run: WorkloadRun, store: Store): Promise<AsyncPause> {
  const bytes = run.workload.bytes;
  const { memcpyMs, freshMemcpyMs } = memcpyCosts(run.tensors, bytes);
  // The run's staging memory (the store's runtime) is trimmed and reserved directly (a lower layer
  // on purpose): the public API has no way to start a process's first save again.
  const staging = run.io.staging;
  const pauses: number[] = [];
  const committed: number[] = [];
  const once = async (): Promise<number> => {
    const s = run.nextStep();
    const t0 = performance.now();
    const a = store.saveAsync(s, { tensors: run.tensors, state: { step: s } });
    // The slot is free, so the copy happened inside the call: its return is the end of the pause.
    const pause = performance.now() - t0;
    await a.snapshotted;
    const r = await a.committed;
    committed.push(performance.now() - t0);
    await removeTree(run.fs, r.path);
    return pause;
  };
  // First call of a process: no staging memory yet (an earlier workload's is dropped).
  staging.trim();
  for (let i = 0; i < Math.max(2, Math.min(run.repeat, 4)); i++) pauses.push(await once());
  // First call again, with the staging memory reserved up front, outside the pause.
  staging.trim();
  staging.reserve(bytes);
  const reservedFirstPauseMs = await once();
  return { bytes, firstPauseMs: pauses[0]!, reservedFirstPauseMs, steadyPauseMs: median(pauses.slice(1)), memcpyMs, freshMemcpyMs, committedMs: median(committed) };
}
