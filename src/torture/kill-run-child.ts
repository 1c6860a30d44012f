/**
 * Spawns one kill-campaign child (`kill-child.js`, same Node binary), reads
 * its event lines, and SIGKILLs it as the trial's plan says. Resolves once
 * the process is gone and every line it wrote has been read ('close', not
 * 'exit'): a `committed` line already in the pipe when the kill landed is
 * real (that save returned), so it counts.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { KillPlan } from './kill-plan.js';
import { childNodeLaunch } from '../io/worker-flags.js';

export const KILL_CHILD_PATH = fileURLToPath(new URL('./kill-child.js', import.meta.url));

export interface ChildRun {
  /** Steps whose save began, in order, with their size and when (ms after `ready`). */
  begun: { step: number; bytes: number; files: number; atMs: number }[];
  /** Steps whose save returned → the child's content digest. */
  committed: Map<number, string>;
  /**
   * Who ended it: the parent's timed or after-commit kill, the child's own
   * after-op kill, the parent because the child hit its save cap (`idle`)
   * before the planned kill point, or the safety timeout.
   */
  endedBy: 'parent' | 'self' | 'cap' | 'timeout';
  /** Milliseconds from `ready` to the kill (parent kills only). */
  killAfterReadyMs: number | undefined;
  stderr: string;
}

class ChildFailedError extends Error {}

/** `windowMs` scales a uniform plan's position into a delay after `ready`. */
export function runKillChild(childArgs: string[], plan: KillPlan, windowMs: number, timeoutMs: number): Promise<ChildRun> {
  const launch = childNodeLaunch(KILL_CHILD_PATH, childArgs);
  const child = spawn(process.execPath, launch.argv, { stdio: ['ignore', 'pipe', 'pipe'], env: launch.env });
  const run: ChildRun = { begun: [], committed: new Map(), endedBy: 'self', killAfterReadyMs: undefined, stderr: '' };
  let readyAt: number | undefined;
  let killedByParent = false;
  let timer: NodeJS.Timeout | undefined;
  const kill = (why: 'parent' | 'cap' | 'timeout'): void => {
    if (killedByParent) return;
    killedByParent = true;
    run.endedBy = why;
    if (readyAt !== undefined) run.killAfterReadyMs = performance.now() - readyAt;
    child.kill('SIGKILL');
  };
  const safety = setTimeout(() => kill('timeout'), timeoutMs);
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    run.stderr = (run.stderr + chunk).slice(-8000);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [event, a, b, c] = line.split(' ');
    if (event === 'ready') {
      readyAt = performance.now();
      if (plan.kind === 'uniform') timer = setTimeout(() => kill('parent'), plan.fraction * windowMs);
    } else if (event === 'begin') {
      run.begun.push({ step: Number(a), bytes: Number(b), files: Number(c), atMs: performance.now() - (readyAt ?? 0) });
    } else if (event === 'committed') {
      run.committed.set(Number(a), b!);
      if (plan.kind === 'after-commit' && run.committed.size === plan.commits) kill('parent');
    } else if (event === 'idle') {
      kill('cap');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(safety);
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(safety);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new ChildFailedError(`kill child exited with ${signal ?? `code ${code}`} instead of being killed:\n${run.stderr}`));
        return;
      }
      resolve(run);
    });
  });
}
