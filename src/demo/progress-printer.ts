/**
 * Turns supervisor events into the demo's console lines: one line per step
 * range (ending at a checkpoint, printed once its save commits or is lost),
 * one per crash, one per resume with its post-resume check.
 */
import type { WorkerEvent } from './protocol.js';
import type { SupervisorEvent } from './supervisor.js';

const OP_TEXT: Record<string, string> = {
  pwrite: 'frozen after half of a shard write (torn file)',
  sync: 'frozen in the fsync of a shard',
  rename: 'frozen just before the commit rename (all files written and synced)',
};

function fmtLoss(x: number): string {
  return x.toFixed(4);
}

function kib(bytes: number): string {
  return `${Math.round(bytes / 1024)} KiB`;
}

export class ProgressPrinter {
  #rangeStart = 1;
  #firstLoss: number | null = null;
  #lastLoss = 0;
  #lastLr = 0;
  #lastStep = 0;
  /** Range summaries waiting for their checkpoint's save to commit, by checkpoint step. */
  #waiting = new Map<number, string>();
  /** Pause of each save in flight: state capture, any wait for the previous commit, and the copy. */
  #pauseMs = new Map<number, number>();
  #incarnation = 0;

  constructor(
    private readonly interval: number,
    private readonly steps: number,
    private readonly write: (line: string) => void,
  ) {}

  handle(e: SupervisorEvent): void {
    switch (e.type) {
      case 'spawn':
        this.#incarnation = e.incarnation;
        return;
      case 'worker':
        this.#worker(e.event);
        return;
      case 'killed': {
        // A save can commit in the instant before the kill lands, before the worker reports it:
        // the store, listed after the kill, is the judge.
        const committed = (step: number): boolean => e.newestCommitted !== null && step <= e.newestCommitted;
        for (const [step, line] of this.#waiting) {
          this.write(`${line} │ ${committed(step) ? `checkpoint ${step} committed just before the kill` : 'save in flight when killed: not committed'}`);
        }
        this.#waiting.clear();
        this.#flushPartial('✗ killed');
        const newest = e.newestCommitted === null ? 'none' : String(e.newestCommitted);
        if (e.crash.kind === 'mid-save') {
          this.write(`  ✗ SIGKILL during the save of checkpoint ${e.crash.step}, ${OP_TEXT[e.crash.op] ?? e.crash.op}; newest committed checkpoint: ${newest}`);
        } else {
          const writing = e.savesInFlight.filter((s) => !committed(s));
          const during = writing.length > 0 ? ` while checkpoint ${writing.join(', ')} was being written` : '';
          this.write(`  ✗ SIGKILL at step ${e.lastStepSeen}${during}; newest committed checkpoint: ${newest}`);
        }
        return;
      }
      case 'exited':
        return;
    }
  }

  #worker(ev: WorkerEvent): void {
    switch (ev.ev) {
      case 'resume': {
        const who = `run ${this.#incarnation}`;
        if (ev.fromStep === null) this.write(`  ▶ ${who}: fresh start`);
        else {
          const check = ev.check === null ? '' : ev.check.ok ? ` │ post-resume check ✓ ${ev.check.skipped ? 'nothing to check' : `loss of step ${ev.check.step}'s batch recomputed: ${ev.check.recomputedLoss} (bit-exact)`}` : ` │ post-resume check ✗ ${ev.check.message}`;
          const skipped = ev.skipped.length > 0 ? ` (skipped invalid: ${ev.skipped.map((s) => s.step).join(', ')})` : '';
          this.write(`  ↻ ${who}: resumed from checkpoint ${ev.fromStep}${skipped}${check}`);
          if (ev.config !== null && !ev.config.matches) this.write(`    ⚠ config changed since the checkpoint: ${ev.config.differences.join('; ')}`);
        }
        this.#rangeStart = (ev.fromStep ?? 0) + 1;
        this.#firstLoss = null;
        return;
      }
      case 'step':
        this.#firstLoss ??= ev.loss;
        this.#lastLoss = ev.loss;
        this.#lastLr = ev.lr;
        this.#lastStep = ev.step;
        if (ev.step % this.interval === 0 || ev.step === this.steps) {
          this.#waiting.set(ev.step, this.#rangeLine());
          this.#rangeStart = ev.step + 1;
          this.#firstLoss = null;
        }
        return;
      case 'save-begin':
        this.#pauseMs.set(ev.step, ev.pauseMs);
        return;
      case 'saved': {
        const line = this.#waiting.get(ev.step) ?? `  checkpoint ${ev.step}`;
        this.#waiting.delete(ev.step);
        // Training does not wait for the write: say how far it got meanwhile.
        const during = this.#lastStep - ev.step;
        const bg = during > 0 ? `; written while ${during} more step${during === 1 ? '' : 's'} ran` : '';
        const copy = this.#pauseMs.get(ev.step);
        this.#pauseMs.delete(ev.step);
        const pause = copy === undefined ? '' : `; training paused ${copy.toFixed(1)} ms`;
        this.write(`${line} │ checkpoint ${ev.step} committed (${kib(ev.bytes)}${pause}${bg})`);
        return;
      }
      default:
        return;
    }
  }

  #rangeLine(): string {
    const range = `${this.#rangeStart}–${this.#lastStep}`.padStart(9);
    return `  steps ${range} │ loss ${fmtLoss(this.#firstLoss ?? this.#lastLoss)} → ${fmtLoss(this.#lastLoss)} │ lr ${this.#lastLr.toExponential(2)}`;
  }

  #flushPartial(tag: string): void {
    if (this.#firstLoss === null || this.#lastStep < this.#rangeStart) return;
    this.write(`${this.#rangeLine()} │ ${tag}`);
    this.#firstLoss = null;
  }

  /** Prints what is left when the run ends (a final range shorter than the interval). */
  finish(): void {
    for (const [, line] of this.#waiting) this.write(line);
    this.#waiting.clear();
    this.#flushPartial('end');
  }
}
