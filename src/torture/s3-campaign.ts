/**
 * `holdfast torture s3`: the S3 path under faults on the wire and kills, against a real server
 * (issue 11, "Faults on the wire"). Every trial runs its savers through a fresh fault proxy
 * (s3-fault-proxy.ts) under its own key prefix, then judges the store through a clean
 * connection (s3-oracle.ts) and removes what the trial wrote. Fault classes:
 *
 *   delay, error-500, error-503, slowdown, drop, flip-byte, lost-response
 *            one saver in this process saves `saves` steps through the proxy, which gives each
 *            request that fault with the class's probability (seeded by trial and request index)
 *   sigkill  a saver child process saving step after step (through a proxy that delays a third
 *            of the requests, so kills land inside them) is SIGKILLed at a seeded instant
 *   race     two saver child processes commit the same step at once, without the lease, through
 *            a proxy that loses a quarter of the PUT responses
 *   tier-kill  a training process with a tiered store (local directory, this durable prefix) saves
 *            and uploads in the background through a proxy that drops connections, loses PUT
 *            responses and answers 503; it is SIGKILLed once a seeded share of its upload bytes
 *            has settled; the upload is then resumed and judged (s3-tier-trial.ts)
 *
 * Invariants, counted per class: a committed manifest never names a missing or partial object
 * (full verification); two writers never both commit a step; a reported commit is always
 * readable and verifies; every save commits or fails with a typed error before its deadline;
 * every body damaged in transit is refused; gc with no grace leaves no incomplete upload and
 * touches no object of a committed checkpoint; tier-kill adds: the local copy stays valid, every
 * interrupted upload resumes to a durable copy, and the resume sends no byte the server already
 * held. `extraInvariants` is where checks of other
 * features (tiering: the local copy valid, interrupted uploads resumable) join each trial.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newNonce } from '../format/nonce.js';
import { removeTree } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { mixSeed, SeededRandom } from '../fs/seeded-random.js';
import type { CampaignResult, CampaignRow, Violation } from './campaign.js';
import { S3FaultProxy, seededFaults, type FaultDecision, type ProxiedRequest, type WireFault } from './s3-fault-proxy.js';
import { s3Content } from './s3-content.js';
import { judgeS3Trial, type ExtraInvariant, type TrialVerdict } from './s3-oracle.js';
import { runSaverChild, saveInProcess, startLine, type SaveReport, type StoreAt } from './s3-savers.js';
import { killTieredUploader, resumeAndJudgeTier, TIER_FAULT_RATES, tierFaults } from './s3-tier-trial.js';
import { tierContent } from './s3-tier-content.js';
import { wilson } from './wilson.js';

export const S3_FAULT_CLASSES = ['delay', 'error-500', 'error-503', 'slowdown', 'drop', 'flip-byte', 'lost-response', 'sigkill', 'race', 'tier-kill'] as const;
export type S3FaultClass = (typeof S3_FAULT_CLASSES)[number];

/** Probability that a request gets the class's fault: high enough to hit most saves, low enough that the SDK's 5 attempts usually get through. */
const FAULT_RATES: Record<Exclude<S3FaultClass, 'sigkill' | 'race' | 'tier-kill'>, number> = {
  'delay': 0.5, 'error-500': 0.15, 'error-503': 0.15, 'slowdown': 0.15, 'drop': 0.1, 'flip-byte': 0.3, 'lost-response': 0.25,
};

export interface S3CampaignOptions {
  seed: number;
  /** Trials per fault class. */
  trials: number;
  /** Steps each in-process saver saves per trial. */
  saves: number;
  classes: readonly S3FaultClass[];
  /** The real server (http://host:port) and a bucket on it; each trial writes under `<prefix><class>/<trial>/`. */
  upstream: string;
  bucket: string;
  prefix: string;
  /** A save (or a racing child) not settled by then is a violation. */
  deadlineMs: number;
  /** sigkill: the kill lands uniformly in [0, killWindowMs) after the child is ready. */
  killWindowMs: number;
  /** tier-kill: where each trial's local tier is made (and removed after); default the OS's temp directory. */
  scratchDir?: string;
  /** Replays one trial of each selected class. */
  onlyTrial?: number;
  extraInvariants?: ExtraInvariant;
  onProgress?: (done: number, total: number, label: string) => void;
}

export type S3CampaignResult = Omit<CampaignResult, 'campaign'> & { campaign: 's3' };

type Preset = Pick<S3CampaignOptions, 'trials' | 'saves' | 'deadlineMs' | 'killWindowMs'>;
/** `npm test`: one trial of each class (one to two minutes on 2 cores shared with the server). */
export const S3_QUICK: Preset = { trials: 1, saves: 2, deadlineMs: 60_000, killWindowMs: 4_000 };
/** docs/RELIABILITY.md's run (about 45 minutes on 2 shared cores; tier-kill alone about 10). */
export const S3_FULL: Preset = { trials: 20, saves: 3, deadlineMs: 120_000, killWindowMs: 6_000 };

export async function runS3Campaign(o: S3CampaignOptions): Promise<S3CampaignResult> {
  const started = performance.now();
  const rows: CampaignRow[] = [];
  const violations: Violation[] = [];
  const trials = o.onlyTrial !== undefined ? [o.onlyTrial] : Array.from({ length: o.trials }, (_, i) => i);
  let done = 0;
  for (const fault of o.classes) {
    const outcomes: Record<string, number> = {};
    let clean = 0;
    for (const trial of trials) {
      const seed = mixSeed([o.seed, S3_FAULT_CLASSES.indexOf(fault), trial]);
      o.onProgress?.(done++, o.classes.length * trials.length, `${fault} trial ${trial}`);
      const verdict = await runTrial(o, fault, trial, seed);
      for (const [k, n] of Object.entries(verdict.counts)) outcomes[k] = (outcomes[k] ?? 0) + n;
      if (verdict.violations.length === 0) clean++;
      for (const description of verdict.violations) {
        violations.push({ group: fault, trial, seed, description, replay: `holdfast torture s3 --seed ${o.seed} --class ${fault} --trial ${trial}` });
      }
    }
    rows.push({ group: fault, fault, trials: trials.length, outcomes, guarantee: wilson(clean, trials.length), guaranteeLabel: 'trials in which every invariant held', required: true });
  }
  o.onProgress?.(done, done, 'done');
  const notes = [
    `faults per request: ${Object.entries(FAULT_RATES).map(([k, r]) => `${k} ${r}`).join(', ')}; sigkill within ${o.killWindowMs} ms of the saver's start; race: 2 writers, lost PUT responses 0.25; tier-kill: ${Object.entries(TIER_FAULT_RATES).map(([k, r]) => `${k} ${r}`).join(', ')}, SIGKILL at a seeded share of the upload bytes, resumed by holdfast sync (even trials) or reopening (odd)`,
    'each trial is judged through a clean connection: full verification of every committed step, restore of every reported commit, then gc with no grace',
  ];
  return { campaign: 's3', seed: o.seed, rows, violations, counters: { trials: done }, notes, durationMs: performance.now() - started };
}

async function runTrial(o: S3CampaignOptions, fault: S3FaultClass, trial: number, seed: number): Promise<TrialVerdict> {
  const at: StoreAt = { bucket: o.bucket, prefix: `${o.prefix}${fault}/${trial}/` };
  const proxy = await S3FaultProxy.start({ upstream: o.upstream, decide: decisionsFor(fault, seed) });
  let reports: SaveReport[];
  let digestsOf = (step: number): string[] => [s3Content(seed, step).digest];
  const local = fault === 'tier-kill' ? await makeLocalTier(o.scratchDir ?? tmpdir(), fault, trial) : undefined;
  try {
    if (local !== undefined) {
      reports = await killTieredUploader({ at, local, seed, steps: o.saves, endpoint: proxy.endpoint, deadlineMs: o.deadlineMs });
      digestsOf = (step) => [tierContent(seed, step).digest];
    } else if (fault === 'sigkill') {
      const killAfterMs = new SeededRandom(seed, 0x6b696c6c).nextInt(o.killWindowMs);
      const run = await runSaverChild({ args: childArgs(at, seed, 1, '--loop'), endpoint: proxy.endpoint, killAfterMs, deadlineMs: o.killWindowMs + o.deadlineMs, writer: 0 });
      reports = run.reports;
    } else if (fault === 'race') {
      const seeds = [seed, mixSeed([seed, 1])];
      const together = startLine(seeds.length);
      const runs = await Promise.all(seeds.map((s, writer) => runSaverChild({ args: childArgs(at, s, 1, '--race'), endpoint: proxy.endpoint, deadlineMs: o.deadlineMs, writer, startLine: together })));
      reports = runs.flatMap((r) => r.reports);
      digestsOf = (step) => seeds.map((s) => s3Content(s, step).digest);
    } else {
      reports = await saveInProcess(at, proxy.endpoint, seed, o.saves, o.deadlineMs);
    }
  } finally {
    await proxy.close();
  }
  const extras: TrialVerdict[] = [];
  if (local !== undefined) extras.push(await resumeAndJudgeTier(at, local, seed, trial, o.upstream, reports));
  if (o.extraInvariants !== undefined) extras.push(await o.extraInvariants(at, reports));
  const verdict = await judgeS3Trial(at, reports, digestsOf, proxy.events);
  if (local !== undefined && verdict.violations.length + extras.reduce((n, e) => n + e.violations.length, 0) === 0) await removeTree(new PosixFileSystem(), local);
  const faulted = proxy.events.filter((e) => e.fault !== 'pass').length;
  if (faulted > 0) verdict.counts['requests-faulted'] = faulted;
  for (const extra of extras) {
    verdict.violations.push(...extra.violations);
    for (const [k, n] of Object.entries(extra.counts)) verdict.counts[k] = (verdict.counts[k] ?? 0) + n;
  }
  return verdict;
}

/** A fresh directory for one trial's local tier (kept after a violation, for the replay). */
async function makeLocalTier(scratchDir: string, fault: S3FaultClass, trial: number): Promise<string> {
  const dir = join(scratchDir, `holdfast-s3-${fault}-${trial}-${newNonce().slice(0, 12)}`);
  await new PosixFileSystem().mkdir(dir);
  return dir;
}

function decisionsFor(fault: S3FaultClass, seed: number): (r: ProxiedRequest) => FaultDecision {
  if (fault === 'tier-kill') return tierFaults(seed);
  if (fault === 'sigkill') return seededFaults(seed, 'delay', 0.3, 50);
  if (fault === 'race') return seededFaults(seed, 'lost-response', 0.25);
  return seededFaults(seed, fault as WireFault, FAULT_RATES[fault], 150);
}

function childArgs(at: StoreAt, seed: number, start: number, mode: '--loop' | '--race'): string[] {
  return ['--bucket', at.bucket, '--prefix', at.prefix, '--seed', String(seed), '--start', String(start), mode];
}
