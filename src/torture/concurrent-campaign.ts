/**
 * Campaign 5, concurrency (issue 9): several real processes
 * (concurrent-child.ts) share one store, each running a seeded mix of
 * `save` and `saveAsync` in every durability mode, `gc` with retention and a
 * short staging grace period, `restore`, `latest` and `verify`, while the
 * parent SIGKILLs them (and starts replacements) and SIGSTOPs them for
 * 20 ms – 6 s (then SIGCONT). The writer lease's time to live is short
 * (2 s), so a paused holder expires and is taken over: a resumed old writer
 * must then fail (HF_BUSY, fenced) instead of committing, and gc must not
 * sweep a live save's staging (grace 4 s > time to live). A round runs on a
 * fresh store, on the normal file system and on a nearly full one (a small
 * tmpfs with a ballast file), for a few seconds.
 *
 * Invariants, each counted (a row with a Wilson interval) and each broken
 * instance a violation with its replay command:
 *
 * - committed verifies: every step in the commit log (appended by a child
 *   only after its save returned) verifies and restores bit-exact at the end
 *   of the round, or retention removed it (an audit `delete` line, a gc that
 *   reported it, or a gc that was killed or failed mid-call while newer
 *   commits existed); a committed checkpoint found in `.quarantine/` is a
 *   violation. `verify` calls during the round count too: a report that is
 *   not ok is excused only when the step stopped being committed meanwhile.
 * - newest kept: the newest logged step is never lost: the parent's
 *   `latest()` every 0.5 s during the round reaches it, and after the round
 *   `restore()` returns it (or newer), bit-exact.
 * - restore newest: each child's `restore()`/`latest()` returns a step ≥ the
 *   newest step in the commit log when the call began (every one of those
 *   committed before it), and restore's bytes are exactly what (seed, step)
 *   gives; HF_NO_VALID_CHECKPOINT only when nothing was committed yet.
 * - typed failures: every failed call threw a `HoldfastError`.
 * - no hang: every call settled within its deadline (children measure
 *   running time, so a SIGSTOP is not a hang).
 *
 * Timing is real, so a round is not replayed bit for bit: its seed fixes the
 * chaos plan (which process, when, how long) and every child's sequence of
 * calls, and `--round` reruns exactly that round. So a violated round keeps
 * its directory as evidence (concurrent-evidence.ts) and names it, and a
 * committed step found in quarantine is reported with the reasons recorded.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { posix as path } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HoldfastError } from '../errors.js';
import { AUDIT_LOG, QUARANTINE_DIR, checkpointDirName } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDir, readWholeFile, removeTree, statOrUndefined } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';
import type { CampaignResult, CampaignRow, Violation } from './campaign.js';
import { concurrentDigest } from './concurrent-content.js';
import { mountNearlyFull, type NearlyFullMount } from './concurrent-nearly-full.js';
import { auditedQuarantines, copyTree, describeQuarantines, type QuarantineRecord } from './concurrent-evidence.js';
import { contentDigest } from './kill-content.js';
import { wilson } from './wilson.js';
import { childNodeLaunch } from '../io/worker-flags.js';

export const CONCURRENT_CHILD_PATH = fileURLToPath(new URL('./concurrent-child.js', import.meta.url));

export type ConcurrentVariant = 'normal' | 'nearly-full';
export const CONCURRENT_VARIANTS: readonly ConcurrentVariant[] = ['normal', 'nearly-full'];

export interface ConcurrentCampaignOptions {
  seed: number;
  workDir: string;
  /** Rounds per variant. */
  rounds: number;
  /** How long the processes run in one round (ms). */
  roundMs: number;
  /** Processes on the store at once. */
  workers: number;
  variants: ConcurrentVariant[];
  /** Run only this round (replay). */
  onlyRound?: number;
  /** Writer lease time to live (default 2000 ms). */
  ttlMs?: number;
  /** gc's staging grace period (default 4000 ms; must exceed the lease's time to live). */
  graceMs?: number;
  /** Per-call deadline in running time (default 30 s). */
  deadlineMs?: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Like every campaign's result; `concurrent` is not (yet) one of `CampaignName`. */
export type ConcurrentResult = Omit<CampaignResult, 'campaign'> & { campaign: 'concurrent' };

type Preset = Pick<ConcurrentCampaignOptions, 'rounds' | 'roundMs' | 'workers' | 'variants'>;
/** CI: two short rounds per variant (≈ 18 s on 2 cores). */
export const CONCURRENT_QUICK: Preset = { rounds: 2, roundMs: 2500, workers: 3, variants: [...CONCURRENT_VARIANTS] };
/** The counts docs/RELIABILITY.md reports (≈ 7.5 minutes on 2 cores). */
export const CONCURRENT_FULL: Preset = { rounds: 30, roundMs: 6000, workers: 4, variants: [...CONCURRENT_VARIANTS] };

const NEARLY_FULL_MIB = 40;
const HEADROOM_MIB = 10;
const WATCH_EVERY_MS = 500;

const GROUPS = ['committed verifies', 'newest kept', 'restore newest', 'typed failures', 'no hang'] as const;
type Group = (typeof GROUPS)[number];

interface Tally {
  checks: Record<Group, { k: number; n: number }>;
  /** `op:outcome` → count (outcome: ok, or the error code with its errno). */
  outcomes: Record<string, number>;
  counters: Record<string, number>;
}

const newTally = (): Tally => ({
  checks: Object.fromEntries(GROUPS.map((g) => [g, { k: 0, n: 0 }])) as Tally['checks'],
  outcomes: {},
  counters: {},
});

const bump = (r: Record<string, number>, key: string, by = 1): void => void (r[key] = (r[key] ?? 0) + by);

interface ChildEvent {
  t: string;
  op?: string;
  n?: number;
  ok?: boolean;
  code?: string;
  errno?: string;
  msg?: string;
  step?: number | null;
  floor?: number | null;
  bytesOk?: boolean;
  verdict?: string;
  removed?: number[];
  results?: string[];
  quarantinedNow?: number;
  mode?: string;
  modes?: string[];
  steps?: number[];
  quarantines?: { step: number; reason: string; movedTo: string }[];
}

/** One child process of a round, and what the parent knows about it. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  stopped = false;
  killedByParent = false;
  inFlight: string | undefined;
  stderr = '';
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly label: string, readonly args: string[], onEvent: (c: Child, e: ChildEvent) => void) {
    const launch = childNodeLaunch(CONCURRENT_CHILD_PATH, args);
    this.proc = spawn(process.execPath, launch.argv, { stdio: ['pipe', 'pipe', 'pipe'], env: launch.env });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (s: string) => void (this.stderr = (this.stderr + s).slice(-4000)));
    this.proc.stdin.on('error', () => undefined); // a killed child's stdin: EPIPE is expected
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let e: ChildEvent;
      try {
        e = JSON.parse(line) as ChildEvent;
      } catch {
        e = { t: 'garbled', msg: line.slice(0, 200) };
      }
      if (e.t === 'begin') this.inFlight = e.op;
      if (e.t === 'end') this.inFlight = undefined;
      onEvent(this, e);
    });
    this.closed = new Promise((resolve) => this.proc.on('close', (code, signal) => resolve({ code, signal })));
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null && !this.killedByParent;
  }

  signal(sig: NodeJS.Signals): void {
    try {
      this.proc.kill(sig);
    } catch {
      // Already gone.
    }
  }
}

interface RoundState {
  variant: ConcurrentVariant;
  round: number;
  /** gc calls that were killed or failed mid-call: their removals may be unreported. */
  gcInterrupted: number;
  removedReported: Set<number>;
  /** Moves to quarantine the children reported, with their reasons. */
  quarantines: QuarantineRecord[];
  /** Every child's event lines, labelled: written out only when the round is kept as evidence. */
  events: string[];
}

export async function runConcurrentCampaign(o: ConcurrentCampaignOptions): Promise<ConcurrentResult> {
  const started = performance.now();
  const fs = new PosixFileSystem();
  const ttlMs = o.ttlMs ?? 2000;
  const graceMs = o.graceMs ?? 4000;
  const deadlineMs = o.deadlineMs ?? 30_000;
  const rounds = o.onlyRound !== undefined ? [o.onlyRound] : Array.from({ length: o.rounds }, (_, i) => i);
  const total = rounds.length * o.variants.length;
  const violations: Violation[] = [];
  const rows: CampaignRow[] = [];
  const notes: string[] = [];
  const counters: Record<string, number> = { rounds: total, workers: o.workers, roundMs: o.roundMs, ttlMs, graceMs };
  let done = 0;
  const kept: string[] = [];
  const workRoot = path.join(path.resolve(o.workDir), `concurrent-${process.pid}-${Date.now().toString(36)}`);
  await ensureDir(fs, workRoot);
  try {
    for (const [vi, variant] of o.variants.entries()) {
      let mount: NearlyFullMount | undefined;
      if (variant === 'nearly-full') {
        const m = await mountNearlyFull(fs, path.join(workRoot, 'tmpfs'), NEARLY_FULL_MIB, HEADROOM_MIB);
        if ('skipped' in m) {
          notes.push(`nearly-full variant skipped: ${m.skipped}`);
          counters['nearly-full.skipped'] = 1;
          done += rounds.length;
          continue;
        }
        mount = m;
        notes.push(`nearly-full: a ${m.sizeMiB} MiB tmpfs with ${m.headroomMiB} MiB left free by a ballast file; checkpoints are 4 KiB – 2 MiB, so saves meet ENOSPC while gc frees space.`);
      }
      const tally = newTally();
      try {
        for (const round of rounds) {
          const ctx = { o, fs, variant, vi, round, ttlMs, graceMs, deadlineMs, tally, violations };
          const evidence = await runRound(ctx, path.join(workRoot, `${variant}-${round}`), mount !== undefined ? path.join(mount.dir, `store-${round}`) : undefined);
          if (evidence !== undefined) kept.push(evidence);
          done += 1;
          o.onProgress?.(done, total, `concurrent ${variant} round ${round + 1}/${o.rounds}`);
        }
      } finally {
        await mount?.unmount();
      }
      rows.push(...rowsOf(variant, tally));
      for (const [k, v] of Object.entries(tally.counters)) counters[`${variant}.${k}`] = v;
    }
  } finally {
    // A round with a violation keeps its directory: the interleaving may never come again.
    if (kept.length === 0) await removeTree(fs, workRoot).catch(() => undefined);
  }
  for (const dir of kept) notes.push(`evidence of a violated round kept in ${dir} (store/, commits.jsonl, events.jsonl)`);
  notes.push(
    `Lease time to live ${ttlMs} ms, staging grace ${graceMs} ms, per-call deadline ${deadlineMs} ms of running time. ` +
      'HF_BUSY (lease refused, waited too long, or fenced after a takeover), HF_STEP_EXISTS (two processes raced for one step: both write the same bytes) ' +
      'and HF_NO_VALID_CHECKPOINT before the first commit are expected outcomes, counted in each row\'s outcomes.',
    'Timing is real: a round\'s seed fixes its chaos plan and every process\'s calls, not the interleaving, so a replay reruns the same round, not the same schedule.',
  );
  return { campaign: 'concurrent', seed: o.seed, rows, violations, counters, notes, durationMs: performance.now() - started };
}

interface RoundContext {
  o: ConcurrentCampaignOptions;
  fs: FileSystem;
  variant: ConcurrentVariant;
  vi: number;
  round: number;
  ttlMs: number;
  graceMs: number;
  deadlineMs: number;
  tally: Tally;
  violations: Violation[];
}

function replayOf(ctx: RoundContext): string {
  return `holdfast torture concurrent --seed ${ctx.o.seed} --variant ${ctx.variant} --round ${ctx.round} --workers ${ctx.o.workers} --duration ${ctx.o.roundMs}`;
}

/** One round; returns the round's directory when a violation made it keep it as evidence. */
async function runRound(ctx: RoundContext, roundDir: string, storeOnMount: string | undefined): Promise<string | undefined> {
  const { fs, tally } = ctx;
  await ensureDir(fs, roundDir);
  const root = storeOnMount ?? path.join(roundDir, 'store');
  const log = path.join(roundDir, 'commits.jsonl');
  const violationsBefore = ctx.violations.length;
  const state: RoundState = { variant: ctx.variant, round: ctx.round, gcInterrupted: 0, removedReported: new Set(), quarantines: [], events: [] };
  const violate = (group: Group, description: string): void => {
    ctx.violations.push({ group: `${ctx.variant} · ${group}`, trial: ctx.round, seed: ctx.o.seed, description, replay: replayOf(ctx) });
  };
  const check = (group: Group, ok: boolean, description: () => string): void => {
    tally.checks[group].n += 1;
    if (ok) tally.checks[group].k += 1;
    else violate(group, description());
  };
  const store = await openStore(root, { create: true });
  const rng = new SeededRandom(ctx.o.seed, 0x63686173 /* 'chas' */, ctx.vi, ctx.round);
  const children: Child[] = [];
  let incarnation = 0;
  const spawnChild = (): void => {
    const stream = ctx.vi * 1_000_000 + ctx.round * 1000 + incarnation;
    const args = ['--store', root, '--log', log, '--seed', String(ctx.o.seed), '--stream', String(stream), '--ttl', String(ctx.ttlMs), '--grace', String(ctx.graceMs), '--deadline', String(ctx.deadlineMs)];
    children.push(new Child(`${ctx.variant}/${ctx.round}/${incarnation++}`, args, (c, e) => {
      state.events.push(JSON.stringify({ p: c.label, ...e }));
      judgeEvent(ctx, state, check, c, e);
    }));
    bump(tally.counters, 'processes');
  };
  for (let i = 0; i < ctx.o.workers; i++) spawnChild();

  const resumeTimers = new Set<NodeJS.Timeout>();
  let watching = true;
  const watcher = watchNewest(ctx, store, log, check, () => watching);
  const end = Date.now() + ctx.o.roundMs;
  while (Date.now() < end) {
    await sleep(80 + rng.nextInt(320));
    const live = children.filter((c) => c.alive);
    const u = rng.nextFloat();
    const target = live[rng.nextInt(Math.max(1, live.length))];
    if (target === undefined) continue;
    if (u < 0.3 && !target.stopped) {
      const v = rng.nextFloat();
      const pauseMs = v < 0.55 ? 20 + rng.nextInt(380) : v < 0.85 ? 500 + rng.nextInt(2000) : 2500 + rng.nextInt(3500);
      target.stopped = true;
      target.signal('SIGSTOP');
      bump(tally.counters, 'sigstop');
      if (pauseMs > ctx.ttlMs) bump(tally.counters, 'sigstopPastTtl');
      if (pauseMs > ctx.graceMs) bump(tally.counters, 'sigstopPastGrace');
      const timer = setTimeout(() => {
        resumeTimers.delete(timer);
        target.stopped = false;
        target.signal('SIGCONT');
      }, pauseMs);
      resumeTimers.add(timer);
    } else if (u >= 0.3 && u < 0.42) {
      target.killedByParent = true;
      if (target.inFlight !== undefined) bump(tally.counters, `sigkill.during.${target.inFlight}`);
      if (target.inFlight === 'gc') state.gcInterrupted += 1;
      target.signal('SIGKILL');
      bump(tally.counters, 'sigkill');
      spawnChild();
    }
  }
  // Stop: resume every paused process, close every stdin (each finishes its call in hand), wait.
  for (const t of resumeTimers) clearTimeout(t);
  for (const c of children) {
    if (c.stopped) (c.stopped = false, c.signal('SIGCONT'));
    c.proc.stdin.end();
  }
  await Promise.all(children.map((c) => waitForExit(ctx, c, violate)));
  watching = false;
  await watcher;
  await finalChecks(ctx, state, store, root, log, check);
  const violated = ctx.violations.slice(violationsBefore);
  if (violated.length > 0) await keepEvidence(fs, roundDir, storeOnMount, state, violated);
  else await removeTree(fs, roundDir);
  if (storeOnMount !== undefined) await removeTree(fs, storeOnMount);
  return violated.length > 0 ? roundDir : undefined;
}

/** The round's directory stays (a store on the tmpfs is copied into it first), with every child's events; each violation names it. */
async function keepEvidence(fs: FileSystem, roundDir: string, storeOnMount: string | undefined, state: RoundState, violated: Violation[]): Promise<void> {
  if (storeOnMount !== undefined) await copyTree(fs, storeOnMount, path.join(roundDir, 'store')).catch(() => undefined);
  const fh = await fs.open(path.join(roundDir, 'events.jsonl'), 'create');
  try {
    await fh.pwrite(new TextEncoder().encode(state.events.join('\n') + '\n'), 0);
  } finally {
    await fh.close();
  }
  for (const v of violated) v.description += ` [evidence kept in ${roundDir}]`;
}

async function waitForExit(ctx: RoundContext, c: Child, violate: (g: Group, d: string) => void): Promise<void> {
  const limit = setTimeout(() => {
    violate('no hang', `process ${c.label} did not stop within ${ctx.deadlineMs + 15_000} ms after its stdin closed (call in hand: ${c.inFlight ?? 'none'}); killed`);
    c.killedByParent = true;
    c.signal('SIGKILL');
  }, ctx.deadlineMs + 15_000);
  const { code, signal } = await c.closed;
  clearTimeout(limit);
  if (c.killedByParent || code === 0 || code === 3) return; // 3: a hang, already reported by the child
  violate('typed failures', `process ${c.label} exited with ${signal ?? `code ${code}`}: ${c.stderr.trim().slice(-600)}`);
}

type Check = (group: Group, ok: boolean, description: () => string) => void;

/** One child event: counted, and judged against the invariants. */
function judgeEvent(ctx: RoundContext, state: RoundState, check: Check, c: Child, e: ChildEvent): void {
  const { tally } = ctx;
  const where = `process ${c.label}, call #${e.n ?? '?'} ${e.op ?? ''}`;
  if (e.t === 'hang') return check('no hang', false, () => `${where} did not settle within ${ctx.deadlineMs} ms of running time`);
  if (e.t === 'unhandled') return check('typed failures', false, () => `${where}: unhandled rejection or exception: ${e.msg}`);
  if (e.t === 'garbled') return check('typed failures', false, () => `${where}: unreadable line on stdout: ${e.msg}`);
  if (e.t !== 'end') return;
  const op = e.op!;
  check('no hang', true, () => '');
  bump(tally.outcomes, `${op}:${e.ok === true ? 'ok' : `${e.code}${e.errno !== undefined ? `/${e.errno}` : ''}`}`);
  bump(tally.counters, 'calls');
  if (e.quarantinedNow !== undefined && e.quarantinedNow > 0) bump(tally.counters, 'quarantinedByCall', e.quarantinedNow);
  for (const q of e.quarantines ?? []) state.quarantines.push({ step: q.step, reason: q.reason, by: `${where} (moved to ${q.movedTo})` });
  if (e.ok !== true) {
    check('typed failures', e.code !== 'untyped', () => `${where} failed with an untyped error: ${e.msg}`);
    if (e.code === 'HF_BUSY' && /taken over/.test(e.msg ?? '')) bump(tally.counters, 'fencedAfterTakeover');
    if (e.code === 'HF_ABORTED') bump(tally.counters, 'abortedStagingSwept');
    if (op === 'gc') state.gcInterrupted += 1;
    if (op === 'restore' || op === 'latest') {
      check('restore newest', e.code === 'HF_NO_VALID_CHECKPOINT' && e.floor === null, () => `${where} failed with ${e.code} although step ${e.floor} was committed before it began: ${e.msg}`);
    }
    return;
  }
  switch (op) {
    case 'save':
    case 'saveAsync':
      bump(tally.counters, 'commits');
      bump(tally.counters, `commits.${e.mode}`);
      return;
    case 'saveAsync-pair':
      for (const [i, r] of (e.results ?? []).entries()) {
        bump(tally.outcomes, `saveAsync-pair:${r}`);
        if (r === 'committed') (bump(tally.counters, 'commits'), bump(tally.counters, `commits.${e.modes?.[i]}`));
      }
      return;
    case 'gc':
      for (const s of e.removed ?? []) state.removedReported.add(s);
      bump(tally.counters, 'gcRemovedSteps', e.removed?.length ?? 0);
      return;
    case 'restore':
      return check('restore newest', e.bytesOk === true && (e.floor === null || (e.step ?? -1) >= e.floor!), () =>
        `${where} returned step ${e.step}${e.bytesOk === true ? '' : ' with bytes that differ from what was saved at that step'}; newest committed before it began: ${e.floor}`);
    case 'latest':
      return check('restore newest', e.floor === null || (e.step ?? -1) >= e.floor!, () => `${where} returned ${e.step}; newest committed before it began: ${e.floor}`);
    case 'verify-step':
    case 'verify-all': {
      const bad = /^(false-alarm|corrupt)/.test(e.verdict ?? '');
      if (e.verdict === 'raced-removal') bump(tally.counters, 'verifyRacedRemoval');
      if (e.verdict !== 'nothing-committed') check('committed verifies', !bad, () => `${where}: ${e.verdict} (a committed checkpoint failed verification while still committed)`);
      return;
    }
  }
}

/** During the round: the parent's own `latest()` must reach the newest logged step. */
async function watchNewest(ctx: RoundContext, store: Store, log: string, check: Check, watching: () => boolean): Promise<void> {
  while (watching()) {
    await sleep(WATCH_EVERY_MS);
    const floor = newestOf(await readCommitLog(ctx.fs, log));
    if (floor === null) continue;
    try {
      const l = await store.latest();
      check('newest kept', l !== null && l.step >= floor, () => `the parent's latest() returned ${l?.step ?? 'null'} while step ${floor} was committed`);
    } catch (e) {
      check('typed failures', e instanceof HoldfastError, () => `the parent's latest() threw an untyped error: ${String(e)}`);
      check('newest kept', false, () => `the parent's latest() failed while step ${floor} was committed: ${(e as Error).message}`);
    }
  }
}

/** After the round, every process gone: each logged commit verifies or retention removed it; the newest restores. */
async function finalChecks(ctx: RoundContext, state: RoundState, store: Store, root: string, log: string, check: Check): Promise<void> {
  const { fs, tally } = ctx;
  const entries = await readCommitLog(fs, log);
  const committed = [...new Set(entries)].sort((a, b) => a - b);
  const newest = newestOf(entries);
  const deleted = await auditedDeletes(fs, root);
  const present = new Set((await store.list()).map((c) => c.step));
  for (const step of committed) {
    if (present.has(step)) {
      const ok = await verifiesBitExact(store, ctx.o.seed, step);
      check('committed verifies', ok === true, () => `committed step ${step} is present but ${ok}`);
      continue;
    }
    const quarantined = await quarantinedCopies(fs, root, step);
    if (quarantined.length > 0) {
      const why = describeQuarantines(step, [...state.quarantines, ...(await auditedQuarantines(fs, root))]);
      check('committed verifies', false, () => `committed step ${step} was moved to quarantine: ${quarantined.join(', ')}; ${why}`);
    } else if (deleted.has(step) || state.removedReported.has(step)) {
      bump(tally.counters, 'removedByRetention');
      check('committed verifies', true, () => '');
    } else {
      const excused = state.gcInterrupted > 0 && newest !== null && step < newest;
      if (excused) bump(tally.counters, 'removedByInterruptedGc');
      check('committed verifies', excused, () => `committed step ${step} is gone, and no gc removed it (no audit delete, no gc reported it, ${state.gcInterrupted} gc call(s) interrupted)`);
    }
  }
  if (newest === null) return void bump(tally.counters, 'roundsWithoutCommit');
  try {
    const r = await store.restore();
    const bytesOk = contentDigest(r.tensors, r.state) === concurrentDigest(ctx.o.seed, r.step);
    check('newest kept', r.step >= newest && bytesOk, () => `after the round restore() returned step ${r.step}${bytesOk ? '' : ' (bytes differ)'}; newest committed: ${newest}`);
  } catch (e) {
    check('newest kept', false, () => `after the round restore() failed although step ${newest} was committed: ${(e as Error).message}`);
  }
  bump(tally.counters, 'committedSteps', committed.length);
}

async function verifiesBitExact(store: Store, seed: number, step: number): Promise<true | string> {
  try {
    const [report] = await store.verify(step);
    if (report?.ok !== true) return `fails verification: ${report?.problems[0]?.message ?? 'no report'}`;
    const r = await store.restore(step);
    return contentDigest(r.tensors, r.state) === concurrentDigest(seed, step) ? true : 'restores bytes that differ from what was saved';
  } catch (e) {
    return `fails: ${(e as Error).message}`;
  }
}

async function readCommitLog(fs: FileSystem, log: string): Promise<number[]> {
  if ((await statOrUndefined(fs, log)) === undefined) return [];
  const steps: number[] = [];
  for (const line of new TextDecoder().decode(await readWholeFile(fs, log)).split('\n')) {
    if (line.length === 0) continue;
    try {
      steps.push((JSON.parse(line) as { step: number }).step);
    } catch {
      // A line being appended right now; the final read (every process gone) sees it whole.
    }
  }
  return steps;
}

const newestOf = (steps: number[]): number | null => (steps.length === 0 ? null : Math.max(...steps));

async function auditedDeletes(fs: FileSystem, root: string): Promise<Set<number>> {
  const p = path.join(root, AUDIT_LOG);
  const out = new Set<number>();
  if ((await statOrUndefined(fs, p)) === undefined) return out;
  for (const line of new TextDecoder().decode(await readWholeFile(fs, p)).split('\n')) {
    try {
      const e = JSON.parse(line) as { action?: string; step?: number };
      if (e.action === 'delete' && typeof e.step === 'number') out.add(e.step);
    } catch {
      // Best-effort log: a torn line (killed mid-append) names nothing.
    }
  }
  return out;
}

/** Quarantined directories of `step` that hold a manifest (an incomplete attempt has none). */
async function quarantinedCopies(fs: FileSystem, root: string, step: number): Promise<string[]> {
  const q = path.join(root, QUARANTINE_DIR);
  if ((await statOrUndefined(fs, q))?.type !== 'directory') return [];
  const prefix = `${checkpointDirName(step)}-`;
  const out: string[] = [];
  for (const name of await fs.readdir(q)) {
    if (name.startsWith(prefix) && (await statOrUndefined(fs, path.join(q, name, 'manifest.json'))) !== undefined) out.push(name);
  }
  return out;
}

function rowsOf(variant: ConcurrentVariant, t: Tally): CampaignRow[] {
  const labels: Record<Group, string> = {
    'committed verifies': 'every step reported committed verifies and restores bit-exact until retention removes it',
    'newest kept': 'the newest committed step is never lost (latest during the round, restore after it)',
    'restore newest': 'restore/latest return a step at least as new as every commit before the call, bit-exact',
    'typed failures': 'every failed call threw a HoldfastError',
    'no hang': 'every call settled within its deadline',
  };
  return GROUPS.map((g) => ({
    group: `${variant} · ${g}`,
    fault: variant,
    trials: t.checks[g].n,
    outcomes: g === 'typed failures' || g === 'no hang' ? { ...t.outcomes } : { ok: t.checks[g].k, violated: t.checks[g].n - t.checks[g].k },
    guarantee: wilson(t.checks[g].k, t.checks[g].n),
    guaranteeLabel: labels[g],
    required: true,
  }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
