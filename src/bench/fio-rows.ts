/**
 * The physical limit: fio's O_DIRECT sequential write and read of the same
 * byte count, run before and after Holdfast (the disk's rate drifts on a
 * shared host; the faster run counts).
 */
import { fioAvailable, removeFioFile, runFio, type FioResult } from './fio.js';
import { measurement } from './sampling.js';
import type { Measurement } from './types.js';
import type { WorkloadRun } from './workload-run.js';

export { fioAvailable };

export class FioLimits {
  readonly writes: FioResult[] = [];
  readonly reads: FioResult[] = [];

  constructor(
    private readonly run: WorkloadRun,
    private readonly enabled: boolean,
    /** Every distinct fio command line, for the report. */
    private readonly commands: string[],
  ) {}

  /** One write and one read per engine (psync qd1, libaio qd4). */
  async measure(): Promise<void> {
    if (!this.enabled) return;
    for (const [engine, depth] of [['psync', 1], ['libaio', 4]] as const) {
      this.writes.push(await runFio(this.run.dir, 'write', this.run.workload.bytes, engine, depth));
      this.reads.push(await runFio(this.run.dir, 'read', this.run.workload.bytes, engine, depth));
      await removeFioFile(this.run.fs, this.run.dir);
    }
    for (const r of [...this.writes.slice(-2), ...this.reads.slice(-2)]) if (!this.commands.includes(r.command)) this.commands.push(r.command);
  }

  /** More fio runs (other engines and depths) that count toward the limit; their rows are the caller's. */
  include(results: readonly FioResult[]): void {
    for (const r of results) (r.rw === 'write' ? this.writes : this.reads).push(r);
  }

  get writeLimit(): number | undefined {
    return this.writes.length ? Math.max(...this.writes.map((r) => r.bytesPerSecond)) : undefined;
  }

  get readLimit(): number | undefined {
    return this.reads.length ? Math.max(...this.reads.map((r) => r.bytesPerSecond)) : undefined;
  }

  writeRows(): Measurement[] {
    return fioRows(this.writes, 'write', this.writeLimit);
  }

  readRows(): Measurement[] {
    return fioRows(this.reads, 'read', this.readLimit);
  }
}

/** One row per engine, at the best rate that engine reached in either run. */
function fioRows(results: FioResult[], rw: 'write' | 'read', limit: number | undefined): Measurement[] {
  return results.slice(0, 2).map((r) => {
    const best = Math.max(...results.filter((x) => x.engine === r.engine && x.iodepth === r.iodepth).map((x) => x.bytesPerSecond));
    return measurement({ label: `fio --direct=1 ${rw}, ${r.engine} qd${r.iodepth}`, kind: 'fio', bytes: r.bytes, seconds: [r.bytes / best] }, limit);
  });
}
