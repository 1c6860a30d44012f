/**
 * Restore into the caller's arrays (`store.restore({ step, into })`), beside
 * the allocating restore: the destinations are allocated and touched once
 * before the first sample, as a training program's tensors are when it
 * resumes, and every sample refills them with full verification.
 */
import type { TensorData } from '../format/dtype.js';
import type { HoldfastSaves } from './save-steps.js';
import { measurement, sampleRuns } from './sampling.js';
import { median } from './stats.js';
import type { Measurement } from './types.js';
import type { WorkloadRun } from './workload-run.js';

export async function restoreIntoSamples(run: WorkloadRun, kept: NonNullable<HoldfastSaves['kept']>): Promise<number[]> {
  const into: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(run.tensors)) into[name] = t.data.slice();
  const seconds: number[] = [];
  await sampleRuns(Math.min(run.repeat, run.small ? run.repeat : 3), seconds, () => kept.store.restore({ step: kept.step, into }));
  return seconds;
}

/** The row beside the allocating restore's, also against reading into fresh memory without hashing. */
export function restoreIntoRow(seconds: number[], bytes: number, limit: number | undefined, freshReadLimit: number): Measurement {
  const m = measurement({ label: "Holdfast restore into the caller's arrays + full verify (store.restore({ into }))", kind: 'holdfast', method: 'direct', bytes, seconds }, limit);
  return { ...m, ratioToFreshRead: bytes / median(seconds) / freshReadLimit };
}
