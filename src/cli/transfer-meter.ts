/**
 * Progress of uploads, syncs and replication on the command line: bytes,
 * rate and time left, drawn in place on a terminal (`io.progress`, present
 * only when stderr is one), nothing at all otherwise; the caller prints one
 * final line (`summary`) either way, unless the output is JSON. Pure
 * arithmetic over a clock passed in, so tests can drive it.
 */
import type { CliIo } from './command.js';
import { escapeControl, formatBytes } from './output.js';

export interface MeterSample {
  doneBytes: number;
  totalBytes: number;
}

export class TransferMeter {
  private readonly startedAt: number;
  private lastDrawn = -Infinity;

  constructor(
    private readonly io: CliIo,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  /** Redraws at most ten times a second (and always at 100%). */
  update(label: string, sample: MeterSample): void {
    if (this.io.progress === undefined) return;
    const t = this.now();
    if (t - this.lastDrawn < 100 && sample.doneBytes < sample.totalBytes) return;
    this.lastDrawn = t;
    this.io.progress(escapeControl(`${label}: ${describeTransfer(sample, (t - this.startedAt) / 1000)}`));
  }

  /** `1.2 GiB sent in 12.3 s (100.0 MiB/s)`. */
  summary(sentBytes: number): string {
    const seconds = (this.now() - this.startedAt) / 1000;
    return `${formatBytes(sentBytes)} sent in ${seconds.toFixed(1)} s${seconds > 0 ? ` (${formatBytes(sentBytes / seconds)}/s)` : ''}`;
  }
}

/** `512.0 MiB / 2.0 GiB (25%), 80.0 MiB/s, 19 s left`. */
export function describeTransfer(sample: MeterSample, elapsedSeconds: number): string {
  const { doneBytes, totalBytes } = sample;
  const pct = totalBytes > 0 ? Math.floor((100 * doneBytes) / totalBytes) : 100;
  const rate = elapsedSeconds > 0 ? doneBytes / elapsedSeconds : 0;
  const eta = rate > 0 ? `${Math.ceil((totalBytes - doneBytes) / rate)} s left` : 'estimating';
  return `${formatBytes(doneBytes)} / ${formatBytes(totalBytes)} (${pct}%), ${formatBytes(Math.round(rate))}/s, ${eta}`;
}
