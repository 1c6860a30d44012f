/**
 * The savers of one S3 campaign trial, each reporting what every save it began came to:
 * in this process through the fault proxy, a child process SIGKILLed at a seeded instant, or
 * two child processes racing to commit one step.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isHoldfastError } from '../errors.js';
import { IoRuntime } from '../io/io-runtime.js';
import { childNodeLaunch } from '../io/worker-flags.js';
import { S3Storage } from '../storage/s3-storage.js';
import { openStore } from '../store/open-store.js';
import { s3Content } from './s3-content.js';
import { S3_CAMPAIGN_LEASE } from './s3-saver-child.js';

export const S3_SAVER_CHILD_PATH = fileURLToPath(new URL('./s3-saver-child.js', import.meta.url));

/** What one save came to, as its saver reported it. `killed`: begun, and the process died first. */
export interface SaveReport {
  step: number;
  digest: string;
  outcome: 'committed' | 'failed' | 'hung' | 'killed';
  /** The HoldfastError code of a failure (`untyped` for anything else). */
  code?: string;
  /** A failure's message (in-process savers only), for the trial log. */
  message?: string;
  /** Which saver (the race's two writers differ). */
  writer: number;
}

export interface StoreAt {
  bucket: string;
  prefix: string;
}

/** `saves` steps from 1, saved one after another in this process through `endpoint`; each must settle within `deadlineMs`. */
export async function saveInProcess(at: StoreAt, endpoint: string, seed: number, saves: number, deadlineMs: number): Promise<SaveReport[]> {
  const storage = new S3Storage(at, { client: { endpoint }, upload: { concurrency: 2 } });
  const io = new IoRuntime({ hashWorkers: 0 });
  const reports: SaveReport[] = [];
  try {
    for (let step = 1; step <= saves; step++) {
      const c = s3Content(seed, step);
      const store = await openStore({ storage }, { runtime: io, shardSizeBytes: c.shardSizeBytes, lease: S3_CAMPAIGN_LEASE });
      const settled = await withDeadline(store.save(step, { tensors: c.tensors, state: c.state }), deadlineMs);
      const report: SaveReport = { step, digest: c.digest, writer: 0, outcome: settled === 'hung' ? 'hung' : settled.ok ? 'committed' : 'failed' };
      if (settled !== 'hung' && !settled.ok) {
        report.code = isHoldfastError(settled.error) ? settled.error.code : 'untyped';
        report.message = settled.error instanceof Error ? settled.error.message : String(settled.error);
      }
      reports.push(report);
      if (settled === 'hung') break;
    }
  } finally {
    await io.close();
    await storage.close();
  }
  return reports;
}

async function withDeadline(p: Promise<unknown>, ms: number): Promise<{ ok: true } | { ok: false; error: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    return await Promise.race([p.then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, error })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ChildPlan {
  args: string[];
  /** The S3 endpoint the child uses (the proxy's). */
  endpoint: string;
  /** SIGKILL this long after the child's `ready`; undefined: let it finish. */
  killAfterMs?: number;
  /** The child is SIGKILLed (and its unfinished saves count as `hung`) past this. */
  deadlineMs: number;
  writer: number;
  /** The child waits on stdin for `go` after `ready`, sent once this resolves (both racers ready). */
  startLine?: () => Promise<void>;
  /** Another child speaking the same protocol (default s3-saver-child.js). */
  childPath?: string;
  /** SIGKILL as soon as this returns true for a line the child wrote. */
  killOnLine?: (line: string) => boolean;
}

/** Resolves every caller's promise once `parties` callers have arrived. */
export function startLine(parties: number): () => Promise<void> {
  let arrived = 0;
  let release: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    if (++arrived === parties) release();
    return all;
  };
}

/** Runs one saver child; resolves once it is gone and every line it wrote was read. */
export function runSaverChild(plan: ChildPlan): Promise<{ reports: SaveReport[]; killedByPlan: boolean; stderr: string }> {
  const launch = childNodeLaunch(plan.childPath ?? S3_SAVER_CHILD_PATH, plan.args);
  const child = spawn(process.execPath, launch.argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...launch.env, AWS_ENDPOINT_URL: plan.endpoint } });
  child.stdin.on('error', () => undefined);
  const begun = new Map<number, SaveReport>();
  let stderr = '';
  let killedByPlan = false;
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const deadline = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, plan.deadlineMs);
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!killedByPlan && plan.killOnLine?.(line) === true) {
      killedByPlan = true;
      child.kill('SIGKILL');
    }
    const [event, a, b] = line.split(' ');
    const step = Number(a);
    if (event === 'ready' && plan.startLine !== undefined) {
      void plan.startLine().then(() => child.stdin.end('go\n'));
    } else if (event === 'ready' && plan.killAfterMs !== undefined) {
      killTimer = setTimeout(() => {
        killedByPlan = true;
        child.kill('SIGKILL');
      }, plan.killAfterMs);
    } else if (event === 'begin') {
      begun.set(step, { step, digest: '', outcome: 'killed', writer: plan.writer });
    } else if ((event === 'committed' || event === 'failed') && begun.has(step)) {
      const r = begun.get(step)!;
      r.outcome = event;
      if (event === 'committed') r.digest = b!;
      else r.code = b!;
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      const reports = [...begun.values()];
      if (timedOut && !killedByPlan) for (const r of reports) if (r.outcome === 'killed') r.outcome = 'hung';
      if (signal === null && code !== 0) reject(new Error(`s3 saver child exited with code ${code}:\n${stderr}`));
      else resolve({ reports, killedByPlan, stderr });
    });
  });
}
