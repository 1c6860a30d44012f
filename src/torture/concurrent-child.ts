/**
 * One process of the concurrency campaign (concurrent-campaign.ts): opens the
 * shared store and runs a seeded random sequence of calls on it — `save` and
 * `saveAsync` in every durability mode, `gc` with retention, `restore`,
 * `latest`, `verify` — until its stdin closes (then it finishes the call in
 * hand and exits 0) or it is SIGKILLed. The parent also SIGSTOPs and
 * SIGCONTs it at random.
 *
 * It reports on stdout, one JSON line per event (pipes are synchronous on
 * Linux, so a line is in the pipe before the next call starts):
 *
 *   {"t":"begin","op":…,"n":…}                  a call starts
 *   {"t":"end","op":…,"n":…,"ok":bool,…}         it settled: error code, or what it returned
 *   {"t":"hang","op":…,"n":…}                    it did not settle within the deadline (then exit 3)
 *   {"t":"unhandled","msg":…}                    an unhandled rejection or exception
 *
 * and appends every committed save to the commit log (`--log`, outside the
 * store; one O_APPEND write per line, so lines of several processes never
 * interleave) *after* the call returned, so the log only names steps whose
 * save really reported success. Before each restore/latest it reads that log:
 * the newest step in it is the floor the answer must reach (every step in it
 * committed before the call began).
 *
 * Deadlines run on an "active" clock that skips time spent SIGSTOPped (the
 * gap between two 50 ms ticks is capped), so a pause is never taken for a hang.
 *
 * Usage: node concurrent-child.js --store DIR --log FILE --seed S --stream N
 *          [--ttl MS] [--grace MS] [--deadline MS]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HoldfastError, isHoldfastError } from '../errors.js';
import { readWholeFile, statOrUndefined } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { openStore } from '../store/open-store.js';
import type { StoreEvent } from '../format/vocabulary.js';
import { DURABILITY_MODES, type DurabilityMode, type Store } from '../store/types.js';
import { concurrentContent, concurrentDigest } from './concurrent-content.js';
import { contentDigest } from './kill-content.js';

export interface ConcurrentChildOptions {
  store: string;
  log: string;
  seed: number;
  stream: number;
  ttlMs: number;
  graceMs: number;
  deadlineMs: number;
}

export type ConcurrentOp = 'save' | 'saveAsync' | 'saveAsync-pair' | 'gc' | 'restore' | 'latest' | 'verify-step' | 'verify-all';

const OP_WEIGHTS: [ConcurrentOp, number][] = [
  ['save', 26], ['saveAsync', 16], ['saveAsync-pair', 4], ['gc', 12], ['restore', 16], ['latest', 12], ['verify-step', 10], ['verify-all', 4],
];
/** Small enough that most checkpoints are cut into several shard files. */
const SHARD_BYTES = 256 * 1024;
const LEASE_WAIT_MS = 8000;

type Write = (event: Record<string, unknown>) => void;

function integer(name: string, text: string | undefined, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const n = text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new RangeError(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

export function parseConcurrentChildArgs(argv: string[]): ConcurrentChildOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      store: { type: 'string' }, log: { type: 'string' }, seed: { type: 'string' }, stream: { type: 'string' },
      ttl: { type: 'string' }, grace: { type: 'string' }, deadline: { type: 'string' },
    },
  });
  if (values.store === undefined || values.log === undefined) throw new RangeError('--store and --log are required');
  return {
    store: values.store,
    log: values.log,
    seed: integer('seed', values.seed),
    stream: integer('stream', values.stream),
    ttlMs: integer('ttl', values.ttl, 2000),
    graceMs: integer('grace', values.grace, 4000),
    deadlineMs: integer('deadline', values.deadline, 30_000),
  };
}

/** Milliseconds of running time: a gap between ticks longer than `capMs` (a SIGSTOP) counts as `capMs`. */
function activeClock(tickMs = 50, capMs = 250): { now(): number; stop(): void } {
  let active = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const t = Date.now();
    active += Math.min(t - last, capMs);
    last = t;
  }, tickMs);
  return { now: () => active + Math.min(Date.now() - last, capMs), stop: () => clearInterval(timer) };
}

function pick<T>(rng: SeededRandom, weighted: [T, number][]): T {
  let x = rng.nextInt(weighted.reduce((s, [, w]) => s + w, 0));
  for (const [v, w] of weighted) if ((x -= w) < 0) return v;
  return weighted[0]![0];
}

/** How a failure is reported: typed (its code) or not (a violation the parent counts). */
function describeError(e: unknown): Record<string, unknown> {
  if (e instanceof HoldfastError) {
    const errno = e.data['errno'];
    return { ok: false, code: e.code, ...(typeof errno === 'string' ? { errno } : {}), msg: e.message.slice(0, 400) };
  }
  return { ok: false, code: 'untyped', msg: (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 400) };
}

class Worker {
  private n = 0;
  private lastStep = 0;
  /** Checkpoints this process moved to quarantine during the call in hand, with the reason (evidence for the parent). */
  private quarantines: { step: number; reason: string; movedTo: string }[] = [];
  private readonly fs = new PosixFileSystem();
  private readonly clock = activeClock();
  private wait!: Store;
  private refuse!: Store;

  constructor(
    private readonly o: ConcurrentChildOptions,
    private readonly write: Write,
  ) {}

  private random!: SeededRandom;

  async open(): Promise<void> {
    this.random = new SeededRandom(this.o.seed, 0x63686c64 /* 'chld' */, this.o.stream);
    const onEvent = (e: StoreEvent): void => {
      if (e.type === 'quarantined') this.quarantines.push({ step: e.step, reason: e.reason.slice(0, 400), movedTo: e.movedTo });
    };
    const common = { shardSizeBytes: SHARD_BYTES, create: false, onEvent };
    this.wait = await openStore(this.o.store, { ...common, lease: { ifHeld: 'wait', waitMs: LEASE_WAIT_MS, ttlMs: this.o.ttlMs } });
    this.refuse = await openStore(this.o.store, { ...common, lease: { ifHeld: 'refuse', ttlMs: this.o.ttlMs } });
  }

  async loop(stopping: () => boolean): Promise<void> {
    while (!stopping()) await this.call(pick(this.random, OP_WEIGHTS));
    this.clock.stop();
  }

  /** One call under the deadline; its outcome as one `end` line. */
  private async call(op: ConcurrentOp): Promise<void> {
    const n = this.n++;
    this.write({ t: 'begin', op, n });
    const started = this.clock.now();
    const watchdog = setInterval(() => {
      if (this.clock.now() - started <= this.o.deadlineMs) return;
      this.write({ t: 'hang', op, n, ms: Math.round(this.clock.now() - started) });
      process.exit(3);
    }, 100);
    this.quarantines = [];
    let outcome: Record<string, unknown>;
    try {
      outcome = { ok: true, ...(await this.run(op)) };
    } catch (e) {
      outcome = { ...(e instanceof CallFailure ? e.details : {}), ...describeError(e instanceof CallFailure ? e.cause : e) };
    } finally {
      clearInterval(watchdog);
    }
    const quarantines = this.quarantines.length > 0 ? { quarantines: this.quarantines } : {};
    this.write({ t: 'end', op, n, ms: Math.round(this.clock.now() - started), quarantinedNow: this.quarantines.length, ...quarantines, ...outcome });
  }

  private store(): Store {
    return this.random.nextBool(0.8) ? this.wait : this.refuse;
  }

  private mode(): DurabilityMode {
    return DURABILITY_MODES[this.random.nextInt(DURABILITY_MODES.length)]!;
  }

  /** Steps in the commit log (each line is one committed save). */
  private async committedSteps(): Promise<number[]> {
    if ((await statOrUndefined(this.fs, this.o.log)) === undefined) return [];
    const text = new TextDecoder().decode(await readWholeFile(this.fs, this.o.log));
    const steps: number[] = [];
    for (const line of text.split('\n')) {
      try {
        const step = (JSON.parse(line) as { step?: unknown }).step;
        if (typeof step === 'number') steps.push(step);
      } catch {
        // The last line of a log being appended to may be incomplete; the parent counts those.
      }
    }
    return steps;
  }

  private async floor(): Promise<number | null> {
    const steps = await this.committedSteps();
    return steps.length === 0 ? null : Math.max(...steps);
  }

  /** Near the newest step anyone committed, so processes often race for the same one (HF_STEP_EXISTS). */
  private async nextStep(): Promise<number> {
    const base = Math.max(this.lastStep, (await this.floor()) ?? 0);
    this.lastStep = base + 1 + this.random.nextInt(2);
    return this.lastStep;
  }

  private async logCommitted(step: number, via: string, mode: DurabilityMode): Promise<void> {
    const fh = await this.fs.open(this.o.log, 'append');
    try {
      await fh.pwrite(new TextEncoder().encode(JSON.stringify({ step, via, mode, pid: process.pid, at: Date.now() }) + '\n'), 0);
    } finally {
      await fh.close();
    }
  }

  private async run(op: ConcurrentOp): Promise<Record<string, unknown>> {
    switch (op) {
      case 'save': {
        const [step, mode, store] = [await this.nextStep(), this.mode(), this.store()];
        const c = concurrentContent(this.o.seed, step);
        await guard({ step, mode }, () => store.save(step, { tensors: c.tensors, state: c.state }, { durability: mode }));
        await this.logCommitted(step, 'save', mode);
        return { step, mode, bytes: c.totalBytes };
      }
      case 'saveAsync': {
        const [step, mode, store] = [await this.nextStep(), this.mode(), this.store()];
        const c = concurrentContent(this.o.seed, step);
        const h = store.saveAsync(step, { tensors: c.tensors, state: c.state }, { durability: mode });
        await guard({ step, mode, phase: 'snapshotted' }, () => h.snapshotted);
        // The training loop goes on while the save runs: a read of the store in between.
        if (this.random.nextBool(0.5)) await guard({ step, mode, phase: 'latest-meanwhile' }, () => store.latest());
        await guard({ step, mode, phase: 'committed' }, () => h.committed);
        await this.logCommitted(step, 'saveAsync', mode);
        return { step, mode, bytes: c.totalBytes };
      }
      case 'saveAsync-pair':
        return this.saveAsyncPair();
      case 'gc': {
        const keepLast = 1 + this.random.nextInt(3);
        const r = await guard({ keepLast }, () => this.store().gc({ keepLast, stagingGraceMs: this.o.graceMs }));
        return { keepLast, removed: r.removedSteps, staging: r.removedStaging.length, quarantined: r.quarantined.length };
      }
      case 'restore': {
        const floor = await this.floor();
        const r = await guard({ floor }, () => this.wait.restore());
        const bytesOk = contentDigest(r.tensors, r.state) === concurrentDigest(this.o.seed, r.step);
        return { floor, step: r.step, bytesOk, skipped: r.skipped.map((s) => s.step) };
      }
      case 'latest': {
        const floor = await this.floor();
        const r = await guard({ floor }, () => this.wait.latest());
        return { floor, step: r?.step ?? null, skipped: r?.skipped.map((s) => s.step) ?? [] };
      }
      case 'verify-step': {
        const steps = await this.committedSteps();
        if (steps.length === 0) return { step: null, verdict: 'nothing-committed' };
        // Mostly recent steps (retention keeps those), sometimes any.
        const step = steps[this.random.nextBool(0.7) ? Math.max(0, steps.length - 1 - this.random.nextInt(3)) : this.random.nextInt(steps.length)]!;
        const reports = await guard({ step }, () => this.wait.verify(step));
        return { step, verdict: await this.judgeReports(reports) };
      }
      case 'verify-all': {
        const reports = await this.wait.verify();
        return { steps: reports.length, verdict: await this.judgeReports(reports) };
      }
    }
  }

  /** Two saves on one store at once: the second waits for the first or is refused with HF_BUSY. */
  private async saveAsyncPair(): Promise<Record<string, unknown>> {
    const store = this.store();
    const ifBusy = this.random.nextBool() ? 'wait' : 'refuse';
    const [s1, s2] = [await this.nextStep(), await this.nextStep()];
    const [m1, m2] = [this.mode(), this.mode()];
    const c1 = concurrentContent(this.o.seed, s1);
    const c2 = concurrentContent(this.o.seed, s2);
    const h1 = store.saveAsync(s1, { tensors: c1.tensors, state: c1.state }, { durability: m1 });
    const h2 = store.saveAsync(s2, { tensors: c2.tensors, state: c2.state }, { durability: m2, ifBusy });
    const settle = async (step: number, mode: DurabilityMode, h: { snapshotted: Promise<void>; committed: Promise<unknown> }): Promise<string> => {
      try {
        await h.snapshotted;
        await h.committed;
      } catch (e) {
        if (!(e instanceof HoldfastError)) throw new CallFailure({ step, mode, ifBusy }, e);
        return e.code;
      }
      await this.logCommitted(step, 'saveAsync', mode);
      return 'committed';
    };
    const [r1, r2] = await Promise.all([settle(s1, m1, h1), settle(s2, m2, h2)]);
    return { steps: [s1, s2], modes: [m1, m2], ifBusy, results: [r1, r2] };
  }

  /**
   * A report that is not ok is a violation unless the checkpoint was being removed by retention at
   * the time: it is then no longer committed. One still committed is verified again to tell a false
   * alarm from real damage.
   */
  private async judgeReports(reports: { step: number; ok: boolean }[]): Promise<string> {
    let verdict = 'ok';
    for (const r of reports) {
      if (r.ok) continue;
      const still = (await this.wait.list()).some((c) => c.step === r.step);
      if (!still) {
        verdict = verdict === 'ok' ? 'raced-removal' : verdict;
        continue;
      }
      const again = await this.wait.verify(r.step).catch(() => [{ ok: false }]);
      return again.every((x) => x.ok) ? `false-alarm:${r.step}` : `corrupt:${r.step}`;
    }
    return verdict;
  }
}

/** An error with the call's details attached, so the `end` line names the step and mode that failed. */
class CallFailure extends Error {
  constructor(
    readonly details: Record<string, unknown>,
    override readonly cause: unknown,
  ) {
    super('call failed');
  }
}

async function guard<T>(details: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new CallFailure(details, e);
  }
}

export async function runConcurrentChild(o: ConcurrentChildOptions, write: Write, stopping: () => boolean): Promise<void> {
  const worker = new Worker(o, write);
  await worker.open();
  write({ t: 'ready', pid: process.pid });
  await worker.loop(stopping);
}

function isEntryPoint(): boolean {
  return process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
}

if (isEntryPoint()) {
  const write: Write = (event) => process.stdout.write(JSON.stringify(event) + '\n');
  process.on('unhandledRejection', (e) => write({ t: 'unhandled', msg: String((e as Error)?.stack ?? e).slice(0, 600), typed: isHoldfastError(e) }));
  let stop = false;
  process.stdin.on('end', () => (stop = true));
  process.stdin.resume();
  let options: ConcurrentChildOptions | undefined;
  try {
    options = parseConcurrentChildArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`concurrent-child: ${(e as Error).message}\n`);
    process.exit(2);
  }
  try {
    await runConcurrentChild(options, write, () => stop);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`concurrent-child: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  }
}
