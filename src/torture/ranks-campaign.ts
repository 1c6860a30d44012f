/**
 * `holdfast torture ranks`: the multi-rank save protocol under SIGKILL, with
 * real rank processes over a real store (a local directory, or S3). Each
 * trial starts from a committed step 1, runs its scenario's rank processes
 * (ranks-scenarios.ts) and then judges the store as a fresh reader sees it:
 * - never torn or mixed: every listed checkpoint verifies, and the newest
 *   valid one restores bit for bit as the content of the attempt its
 *   manifest names;
 * - the previous checkpoint stays newest unless the commit happened, and a
 *   commit happens only where the scenario allows it (no rank died before
 *   its record, nothing was refused);
 * - a rank that reported a commit is right: step 2 is the newest valid one;
 * - no rank hangs: each process ends within its deadline plus slack;
 * - a zombie's step 3 never becomes the newest.
 * Ranks that report a failure although the commit happened (a leader killed
 * after the commit, a duplicate leader) and commits that did not happen
 * where expected (deadlines are timing) are counted, not judged.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE, checkpointDirName } from '../format/names.js';
import { childNodeLaunch } from '../io/worker-flags.js';
import { IoRuntime } from '../io/io-runtime.js';
import { isHoldfastError, openStore, type Tensor } from '../index.js';
import { attemptNonce } from '../ranks/attempt-id.js';
import type { RanksChildConfig, RanksChildResult } from './ranks-child.js';
import { firstDifference, globalContent, rankInput } from './ranks-content.js';
import { S3FaultProxy, type FaultDecision, type ProxiedRequest } from './s3-fault-proxy.js';
import { campaignUpstream } from './s3-scratch-bucket.js';
import { NEW_STEP, RANKS_WORLD, ZOMBIE_STEP, ranksScenarios, type RanksScenario } from './ranks-scenarios.js';

export const RANKS_CHILD_PATH = fileURLToPath(new URL('./ranks-child.js', import.meta.url));

export interface RanksCampaignOptions {
  backend: 'local' | 's3';
  /** A directory (local) or an `s3://bucket/prefix/` URL under which each trial gets its own store. */
  base: string;
  seed: number;
  full: boolean;
  /** How many times each scenario runs (fresh store each time). */
  repeat: number;
  deadlineMs: number;
  commitMarginMs: number;
  /** Runs only the scenarios whose name this accepts (default all). */
  only?: (scenario: string) => boolean;
  /** Removes a finished trial's store (local); the campaign leaves S3 prefixes to the bucket's owner. */
  cleanup?: (where: string) => Promise<void>;
  onTrial?: (t: RanksTrial) => void;
}

export interface RanksTrial {
  scenario: string;
  where: string;
  /** Newest valid step after the trial. */
  latest: number | null;
  reports: (RanksChildResult | { rank: number; outcome: 'killed' | 'hung'; stderr: string })[];
  violations: string[];
  /** Ranks that reported failure though the commit happened. */
  disagreements: number;
  /** The scenario expected step 2 committed and it was not (timing; not a violation). */
  livenessMiss: boolean;
}

export interface RanksCampaignResult {
  trials: number;
  processes: number;
  violations: { scenario: string; where: string; message: string }[];
  committed: number;
  disagreements: number;
  livenessMisses: number;
  byScenario: Map<string, { trials: number; committed: number; violations: number }>;
}

export async function runRanksCampaign(o: RanksCampaignOptions): Promise<RanksCampaignResult> {
  const scenarios = ranksScenarios(o.backend, o.seed, o.full).filter((sc) => o.only?.(sc.name) ?? true);
  const result: RanksCampaignResult = { trials: 0, processes: 0, violations: [], committed: 0, disagreements: 0, livenessMisses: 0, byScenario: new Map() };
  const io = new IoRuntime({ hashWorkers: 0 });
  try {
    let i = 0;
    for (let r = 0; r < o.repeat; r++) {
      for (const sc of scenarios) {
        const where = o.backend === 'local' ? `${o.base}/trial-${i}` : `${o.base}trial-${o.seed}-${i}/`;
        i += 1;
        const trial = await runTrial(o, sc, where, io);
        result.trials += 1;
        result.processes += sc.processes.length;
        if (trial.latest === NEW_STEP) result.committed += 1;
        result.disagreements += trial.disagreements;
        if (trial.livenessMiss) result.livenessMisses += 1;
        for (const message of trial.violations) result.violations.push({ scenario: sc.name, where, message });
        const row = result.byScenario.get(sc.name) ?? { trials: 0, committed: 0, violations: 0 };
        row.trials += 1;
        row.committed += trial.latest === NEW_STEP ? 1 : 0;
        row.violations += trial.violations.length;
        result.byScenario.set(sc.name, row);
        o.onTrial?.(trial);
        if (trial.violations.length === 0) await o.cleanup?.(where);
      }
    }
  } finally {
    await io.close();
  }
  return result;
}

async function runTrial(o: RanksCampaignOptions, sc: RanksScenario, where: string, io: IoRuntime): Promise<RanksTrial> {
  await savePrevious(where, o.seed, io);
  const slackMs = 20_000;
  const proxy = sc.processes.some((p) => p.loseManifestResponse) ? await S3FaultProxy.start({ upstream: campaignUpstream(process.env), decide: loseFirstManifestResponse() }) : undefined;
  try {
    const reports = await Promise.all(
      sc.processes.map(({ loseManifestResponse, ...p }) =>
        runChild({ ...p, where, deadlineMs: o.deadlineMs, commitMarginMs: o.commitMarginMs }, o.deadlineMs + o.commitMarginMs + slackMs, loseManifestResponse && proxy ? proxy.endpoint : undefined),
      ),
    );
    const trial = await judge(sc, where, o.seed, reports, io);
    if (proxy !== undefined && !proxy.events.some((e) => e.fault === 'lost-response' && e.upstreamStatus === 200)) {
      trial.violations.push(`the proxy never lost the response of a successful PUT of step ${NEW_STEP}'s manifest (${proxy.events.filter((e) => e.fault !== 'pass').length} faults), so the scenario tested nothing`);
    }
    return trial;
  } finally {
    await proxy?.close();
  }
}

/** The first PUT of `ckpt-<step 2>/manifest.json` reaches the server whole; its answer is never delivered. Everything else passes. */
function loseFirstManifestResponse(): (r: ProxiedRequest) => FaultDecision {
  const manifest = `/${checkpointDirName(NEW_STEP)}/${MANIFEST_FILE}`;
  let lost = false;
  return (r) => {
    if (lost || r.method !== 'PUT' || !r.path.split('?')[0]!.endsWith(manifest)) return { fault: 'pass' };
    lost = true;
    return { fault: 'lost-response' };
  };
}

/** Step 1, committed by 4 ranks of the previous incarnation (`job-1`, epoch 1), in this process. */
async function savePrevious(where: string, seed: number, io: IoRuntime): Promise<void> {
  const content = globalContent(seed, 1, RANKS_WORLD);
  const stores = await Promise.all(Array.from({ length: RANKS_WORLD }, (_, rank) => openStore(where, { runtime: io, rank, worldSize: RANKS_WORLD, attempt: 'job-1', deadlineMs: 60_000 })));
  try {
    await Promise.all(stores.map((s, rank) => s.save(1, rankInput(content, rank, RANKS_WORLD))));
  } finally {
    for (const s of stores) await s.close();
  }
}

/** One rank process; with `endpoint`, its S3 client reaches the server there (the fault proxy). */
function runChild(config: RanksChildConfig, timeoutMs: number, endpoint?: string): Promise<RanksTrial['reports'][number]> {
  const launch = childNodeLaunch(RANKS_CHILD_PATH, [JSON.stringify(config)]);
  const env = endpoint === undefined ? launch.env : { ...launch.env, AWS_ENDPOINT_URL: endpoint };
  const child = spawn(process.execPath, launch.argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  let reported: RanksChildResult | undefined;
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('result ')) reported = JSON.parse(line.slice('result '.length)) as RanksChildResult;
  });
  return new Promise((resolve) => {
    child.on('close', () => {
      clearTimeout(timer);
      if (reported !== undefined) resolve(reported);
      else resolve({ rank: config.rank, outcome: hung ? 'hung' : 'killed', stderr });
    });
  });
}

async function judge(sc: RanksScenario, where: string, seed: number, reports: RanksTrial['reports'], io: IoRuntime): Promise<RanksTrial> {
  const violations: string[] = [];
  const store = await openStore(where, { runtime: io, create: false });
  let latest: number | null = null;
  let committedNonce: string | undefined;
  try {
    for (const r of await store.verify()) if (!r.ok) violations.push(`checkpoint ${r.step} does not verify: ${r.problems[0]?.message ?? '?'}`);
    latest = (await store.latest())?.step ?? null;
    if (latest !== 1 && latest !== NEW_STEP) violations.push(`the newest valid checkpoint is ${String(latest)}, expected 1 (previous) or ${NEW_STEP} (committed)${latest === ZOMBIE_STEP ? ': a zombie of an older epoch moved latest' : ''}`);
    if (latest === NEW_STEP && !sc.mayCommit) violations.push(`step ${NEW_STEP} was committed although a rank never wrote its record or the attempt was refused`);
    if (latest !== null) {
      const restored = await store.restore(latest);
      if (latest === NEW_STEP) committedNonce = restored.manifest.nonce;
      const expected = expectedContent(sc, seed, latest, restored.manifest.nonce);
      if (expected === undefined) violations.push(`step ${latest} carries nonce ${restored.manifest.nonce}, which no attempt of this trial used`);
      else {
        const diff = firstDifference(restored.tensors, expected.tensors);
        if (diff !== undefined) violations.push(`step ${latest} restores different bytes than attempt ${restored.manifest.nonce} saved: ${diff}`);
      }
    }
  } finally {
    await store.close();
  }
  const fenced = latest !== NEW_STEP && (await stepFenced(where, io));
  reports.forEach((r, i) => {
    const step = sc.processes[i]!.step;
    if (r.outcome === 'hung') violations.push(`rank ${r.rank} did not end within its deadline (${r.stderr.trim().split('\n').at(-1) ?? ''})`);
    // A zombie's own report of step 3, or a commit the lineage rule fences out (an older incarnation racing a newer one), is not the newest by design.
    if (r.outcome === 'committed' && step === NEW_STEP && latest !== NEW_STEP && !fenced) violations.push(`rank ${r.rank} reported step ${NEW_STEP} committed, but the newest valid checkpoint is ${String(latest)}`);
    if (r.outcome === 'rejected' && r.code === 'unexpected') violations.push(`rank ${r.rank} failed with a non-Holdfast error: ${r.message ?? ''}`);
    if (sc.everyRankCommits && (r.outcome !== 'committed' || r.nonce !== committedNonce)) {
      violations.push(`rank ${r.rank} must report step ${NEW_STEP} committed by its own attempt (found ${String(committedNonce)}), but reported ${r.outcome}${'code' in r && r.code ? ` ${r.code}: ${r.message ?? ''}` : ''}${'nonce' in r && r.nonce ? ` of attempt ${r.nonce}` : ''}`);
    }
  });
  const disagreements = reports.filter((r, i) => r.outcome === 'rejected' && attemptNonce(sc.processes[i]!.attempt) === committedNonce && sc.processes[i]!.step === NEW_STEP).length;
  return { scenario: sc.name, where, latest, reports, violations, disagreements, livenessMiss: sc.mustCommit && latest !== NEW_STEP };
}

/** Step 2 is committed and verifies, but the lineage rule fences it out. */
async function stepFenced(where: string, io: IoRuntime): Promise<boolean> {
  const store = await openStore(where, { runtime: io, create: false });
  try {
    await store.restore(NEW_STEP);
    return false;
  } catch (e) {
    return isHoldfastError(e, 'HF_INCOMPATIBLE');
  } finally {
    await store.close();
  }
}

function expectedContent(sc: RanksScenario, seed: number, step: number, nonce: string): { tensors: Record<string, Tensor> } | undefined {
  if (step === 1) return nonce === attemptNonce('job-1') ? globalContent(seed, 1, RANKS_WORLD) : undefined;
  const p = sc.processes.find((x) => x.step === step && attemptNonce(x.attempt) === nonce);
  return p === undefined ? undefined : globalContent(p.contentSeed, step, p.worldSize);
}
