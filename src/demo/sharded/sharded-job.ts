/**
 * Runs the sharded demo job as a scheduler would: each incarnation is
 * `worldSize` rank processes sharing one attempt id; when any rank dies (here:
 * SIGKILLs itself at a planned save phase), the scheduler SIGKILLs the rest,
 * and the next incarnation, possibly on another number of ranks, resumes from
 * the newest checkpoint in the store. Every loss any rank reports is kept;
 * ranks must agree with each other, and a step computed again after a crash
 * must reproduce its first loss.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childNodeLaunch } from '../../io/worker-flags.js';
import type { RankEvent, RankWorkerSpec } from './rank-worker.js';

const WORKER_PATH = fileURLToPath(new URL('./rank-worker.js', import.meta.url));

export interface Incarnation {
  worldSize: number;
  /** One rank of this incarnation dies at this save and phase. */
  dieAt?: { rank: number } & NonNullable<RankWorkerSpec['dieAt']>;
}

export interface IncarnationReport {
  worldSize: number;
  resumedFrom: number | null;
  /** The world size that wrote the checkpoint it resumed from. */
  resumedFromWorldSize: number | null;
  died: { rank: number; step: number; phase: string } | null;
  lastSaved: number | null;
}

export interface ShardedJobResult {
  /** `losses[i]`: loss of step i + 1. */
  losses: number[];
  mismatches: string[];
  incarnations: IncarnationReport[];
  final: { weightsSha256: string; stateSha256: string } | null;
}

type Base = Omit<RankWorkerSpec, 'rank' | 'worldSize' | 'attempt' | 'dieAt'>;

export async function runShardedJob(base: Base, plan: readonly Incarnation[], onEvent: (i: number, e: RankEvent) => void, timeoutMs = 300_000): Promise<ShardedJobResult> {
  const result: ShardedJobResult = { losses: [], mismatches: [], incarnations: [], final: null };
  for (const [i, inc] of plan.entries()) {
    const report: IncarnationReport = { worldSize: inc.worldSize, resumedFrom: null, resumedFromWorldSize: null, died: null, lastSaved: null };
    result.incarnations.push(report);
    const finals = await runIncarnation(base, inc, `job-incarnation-${i + 1}`, timeoutMs, (e) => {
      onEvent(i, e);
      record(result, report, e);
    });
    if (finals.length > 0) {
      const distinct = new Set(finals.map((f) => `${f.weightsSha256}/${f.stateSha256}`));
      if (distinct.size !== 1) result.mismatches.push(`incarnation ${i + 1}: ranks ended with ${distinct.size} different states`);
      result.final = finals[0]!;
    }
  }
  return result;
}

function record(result: ShardedJobResult, report: IncarnationReport, e: RankEvent): void {
  if (e.ev === 'resume' && e.rank === 0) {
    report.resumedFrom = e.fromStep;
    report.resumedFromWorldSize = e.savedWorldSize;
  } else if (e.ev === 'resume' && !e.ok) {
    result.mismatches.push(`rank ${e.rank}: the resumed state does not reproduce the saved last-batch loss`);
  } else if (e.ev === 'step') {
    const seen = result.losses[e.step - 1];
    if (seen !== undefined && !Object.is(seen, e.loss)) result.mismatches.push(`step ${e.step}: loss ${e.loss} on rank ${e.rank}, ${seen} before`);
    result.losses[e.step - 1] = e.loss;
  } else if (e.ev === 'saved' && e.rank === 0) {
    report.lastSaved = e.step;
  } else if (e.ev === 'dying') {
    report.died = { rank: e.rank, step: e.step, phase: e.phase };
  }
}

async function runIncarnation(base: Base, inc: Incarnation, attempt: string, timeoutMs: number, onEvent: (e: RankEvent) => void): Promise<{ weightsSha256: string; stateSha256: string }[]> {
  const finals: { weightsSha256: string; stateSha256: string }[] = [];
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  let failure: Error | undefined;
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const timer = setTimeout(() => {
    failure ??= new Error(`incarnation ${attempt} did not finish within ${timeoutMs} ms`);
    killAll();
  }, timeoutMs);
  for (let rank = 0; rank < inc.worldSize; rank++) {
    const spec: RankWorkerSpec = { ...base, rank, worldSize: inc.worldSize, attempt, ...(inc.dieAt?.rank === rank ? { dieAt: { step: inc.dieAt.step, phase: inc.dieAt.phase } } : {}) };
    const launch = childNodeLaunch(WORKER_PATH, [JSON.stringify(spec)]);
    const child = spawn(process.execPath, launch.argv, { env: launch.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as RankEvent;
      if (e.ev === 'done') finals.push({ weightsSha256: e.weightsSha256, stateSha256: e.stateSha256 });
      onEvent(e);
    });
    exits.push(
      new Promise((resolve) => {
        child.on('close', (code, signal) => {
          // A rank that dies takes the job down: the scheduler kills the rest.
          if (signal !== null) killAll();
          else if (code !== 0) {
            failure ??= new Error(`rank ${rank} of ${attempt} exited with ${code}: ${stderr.trim()}`);
            killAll();
          }
          resolve();
        });
      }),
    );
  }
  await Promise.all(exits);
  clearTimeout(timer);
  if (failure !== undefined) throw failure;
  return finals;
}
