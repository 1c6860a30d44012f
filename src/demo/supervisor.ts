/**
 * Runs one training job as a series of worker processes and crashes it on
 * purpose: each incarnation is armed with the next planned crash, is
 * SIGKILLed when it reaches it (at a step, or while a save is frozen
 * mid-write), and the next incarnation resumes from the store's newest valid
 * checkpoint. The supervisor records the loss of every step it saw, checks
 * that replayed steps reproduce the losses seen before the crash, and returns
 * the final digests so a caller can compare against an uninterrupted run.
 *
 * Contract: the worker is `train-worker.js` beside this file, run with the
 * same Node binary. A worker that fails (exit ≠ 0 without being killed) or
 * hangs past `workerTimeoutMs` makes `superviseTraining` reject with its
 * stderr. The store directory is only listed here, never written.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HoldfastError } from '../errors.js';
import { openStore } from '../store/open-store.js';
import type { ResumeCheck } from '../train/post-resume-check.js';
import type { PlannedCrash } from './kill-plan.js';
import { parseEvent, type WorkerEvent } from './protocol.js';
import type { StallOp } from './stalling-file-system.js';
import type { TrainingRunSpec } from './train-worker.js';
import { childNodeLaunch } from '../io/worker-flags.js';

const WORKER_PATH = fileURLToPath(new URL('./train-worker.js', import.meta.url));

interface SuperviseOptions extends TrainingRunSpec {
  crashes: readonly PlannedCrash[];
  onEvent?: (e: SupervisorEvent) => void;
  /** Default 120 s. */
  workerTimeoutMs?: number;
}

type ArmedCrash = { kind: 'step'; step: number } | { kind: 'mid-save'; step: number; op: StallOp };

export type SupervisorEvent =
  | { type: 'spawn'; incarnation: number; pid: number; armed: ArmedCrash | null }
  | { type: 'worker'; incarnation: number; event: WorkerEvent }
  | { type: 'killed'; incarnation: number; crash: ArmedCrash; lastStepSeen: number; savesInFlight: number[]; newestCommitted: number | null }
  | { type: 'exited'; incarnation: number; code: number };

interface IncarnationRecord {
  pid: number;
  resumedFrom: number | null;
  check: ResumeCheck | null;
  armed: ArmedCrash | null;
  killed: boolean;
  lastStepSeen: number;
  savesInFlight: number[];
  newestCommittedAfter: number | null;
}

export interface SupervisedRun {
  /** `losses[i]` is the loss of step i + 1, as last reported. */
  losses: number[];
  weightsSha256: string;
  stateSha256: string;
  incarnations: IncarnationRecord[];
  /** Steps computed again after a crash whose loss differed from the first time. */
  replayMismatches: { step: number; before: number; after: number }[];
  /** Steps that had to be computed again because of crashes. */
  replayedSteps: number;
  crashesPlanned: number;
  crashesDone: number;
}

async function newestCommitted(root: string): Promise<number | null> {
  const store = await openStore(root);
  const list = await store.list();
  return list.length === 0 ? null : list[list.length - 1]!.step;
}

/** Moves a planned crash past the resume point, so that it really happens. */
function arm(c: PlannedCrash, resumeFrom: number, o: SuperviseOptions): ArmedCrash | null {
  const earliest = Math.max(c.atStep, resumeFrom + 1);
  if (c.kind === 'step') return earliest <= o.steps ? { kind: 'step', step: earliest } : null;
  const saveStep = Math.min(Math.ceil(earliest / o.interval) * o.interval, o.steps);
  return saveStep >= earliest ? { kind: 'mid-save', step: saveStep, op: c.op } : null;
}

export async function superviseTraining(o: SuperviseOptions): Promise<SupervisedRun> {
  const pending = [...o.crashes];
  const losses: number[] = [];
  const replayMismatches: SupervisedRun['replayMismatches'] = [];
  const incarnations: IncarnationRecord[] = [];
  let replayedSteps = 0;
  let done: Extract<WorkerEvent, { ev: 'done' }> | null = null;
  while (done === null) {
    if (incarnations.length > o.crashes.length + 2) throw new HoldfastError('HF_ABORTED', 'supervisor: the training job keeps dying without finishing');
    const resumeFrom = (await newestCommitted(o.store)) ?? 0;
    let armed: ArmedCrash | null = null;
    while (armed === null && pending.length > 0) armed = arm(pending.shift()!, resumeFrom, o);
    const rec: IncarnationRecord = {
      pid: 0, resumedFrom: null, check: null, armed, killed: false, lastStepSeen: 0, savesInFlight: [], newestCommittedAfter: null,
    };
    incarnations.push(rec);
    const incarnation = incarnations.length;
    const result = await runIncarnation(o, rec, incarnation, (e) => {
      if (e.ev === 'step') {
        const before = losses[e.step - 1];
        if (before !== undefined) {
          replayedSteps += 1;
          if (!Object.is(before, e.loss)) replayMismatches.push({ step: e.step, before, after: e.loss });
        }
        losses[e.step - 1] = e.loss;
      }
    });
    rec.newestCommittedAfter = await newestCommitted(o.store);
    if (rec.killed) {
      o.onEvent?.({ type: 'killed', incarnation, crash: rec.armed!, lastStepSeen: rec.lastStepSeen, savesInFlight: rec.savesInFlight, newestCommitted: rec.newestCommittedAfter });
    } else {
      o.onEvent?.({ type: 'exited', incarnation, code: result.code });
      done = result.done;
      if (done === null) throw new HoldfastError('HF_ABORTED', `training worker exited with code ${result.code} without finishing:\n${result.stderr}`);
    }
  }
  return {
    losses,
    weightsSha256: done.weightsSha256,
    stateSha256: done.stateSha256,
    incarnations,
    replayMismatches,
    replayedSteps,
    crashesPlanned: o.crashes.length,
    crashesDone: incarnations.filter((r) => r.killed).length,
  };
}

interface IncarnationResult {
  code: number;
  done: Extract<WorkerEvent, { ev: 'done' }> | null;
  stderr: string;
}

function runIncarnation(o: SuperviseOptions, rec: IncarnationRecord, incarnation: number, onWorkerEvent: (e: WorkerEvent) => void): Promise<IncarnationResult> {
  const args = ['--store', o.store, '--corpus', o.corpus, '--model', o.model, '--steps', String(o.steps), '--interval', String(o.interval), '--seed', String(o.seed)];
  if (rec.armed?.kind === 'mid-save') args.push('--stall-save', `${rec.armed.step}:${rec.armed.op}`);
  const launch = childNodeLaunch(WORKER_PATH, args);
  const child = spawn(process.execPath, launch.argv, { stdio: ['ignore', 'pipe', 'pipe'], env: launch.env });
  rec.pid = child.pid ?? 0;
  o.onEvent?.({ type: 'spawn', incarnation, pid: rec.pid, armed: rec.armed });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  let done: IncarnationResult['done'] = null;
  const inFlight = new Set<number>();
  const kill = (): void => {
    if (rec.killed) return;
    rec.killed = true;
    rec.savesInFlight = [...inFlight].sort((a, b) => a - b);
    child.kill('SIGKILL');
  };
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    const e = parseEvent(line);
    if (e === null) return;
    // Lines already in the pipe when the kill landed are real output of the worker; keep them.
    onWorkerEvent(e);
    o.onEvent?.({ type: 'worker', incarnation, event: e });
    if (e.ev === 'resume') {
      rec.resumedFrom = e.fromStep;
      rec.check = e.check;
    } else if (e.ev === 'step') {
      rec.lastStepSeen = e.step;
      if (rec.armed?.kind === 'step' && e.step === rec.armed.step) kill();
    } else if (e.ev === 'save-begin') inFlight.add(e.step);
    else if (e.ev === 'saved') inFlight.delete(e.step);
    else if (e.ev === 'stalled' && rec.armed?.kind === 'mid-save') kill();
    else if (e.ev === 'done') done = e;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new HoldfastError('HF_ABORTED', `training worker ${rec.pid} did not finish within ${o.workerTimeoutMs ?? 120_000} ms:\n${stderr}`));
    }, o.workerTimeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // 'close' (not 'exit') so every stdout line has been read first.
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, done, stderr });
    });
  });
}
