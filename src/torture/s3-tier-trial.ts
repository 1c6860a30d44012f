/**
 * The S3 campaign's tier-kill class (issue 11: "the local copy stays valid; every interrupted
 * upload resumes to a verified durable copy"). A training process with a tiered store saves steps
 * and uploads each in the background through the fault proxy (which drops connections, loses PUT
 * responses and answers 503), and is SIGKILLed once a seeded share of the upload bytes has
 * settled, so the kill lands inside an upload, or inside the next save. Then, through a clean
 * connection: every local checkpoint verifies and holds what was saved; the bytes the server
 * already holds for each interrupted upload (completed objects, and the parts of the upload a
 * resume picks) are counted; the upload is resumed (`holdfast sync` in another process on even
 * trials, opening the store again on odd ones); every local checkpoint is then durable, and the
 * resume sent no byte the server already held. The campaign's oracle then verifies the durable
 * copies byte for byte (s3-oracle.ts).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ListPartsCommand } from '@aws-sdk/client-s3';
import { checkpointDirName } from '../format/names.js';
import type { Manifest } from '../format/manifest-types.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { S3Storage } from '../storage/s3-storage.js';
import { destinationHolds } from '../store/copy-checkpoint.js';
import { openStore } from '../store/open-store.js';
import type { Store, TieredStore, UploadReport } from '../store/types.js';
import { contentDigest } from './kill-content.js';
import type { FaultDecision, ProxiedRequest } from './s3-fault-proxy.js';
import type { TrialVerdict } from './s3-oracle.js';
import { runSaverChild, type SaveReport, type StoreAt } from './s3-savers.js';
import { tierContent } from './s3-tier-content.js';

const TIER_CHILD = fileURLToPath(new URL('./s3-tier-child.js', import.meta.url));
const CLI_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Per request: drop the connection mid-body, lose a PUT's response, or answer 503. */
export const TIER_FAULT_RATES = { drop: 0.06, 'lost-response': 0.08, 'error-503': 0.04 } as const;

export function tierFaults(seed: number): (r: ProxiedRequest) => FaultDecision {
  return (r) => {
    const rng = new SeededRandom(seed, 0x74696b6c /* 'tikl' */, r.index);
    const x = rng.nextFloat();
    const at = rng.nextFloat();
    if (x < TIER_FAULT_RATES.drop) return { fault: 'drop', at };
    if (x < TIER_FAULT_RATES.drop + TIER_FAULT_RATES['lost-response']) return r.method === 'PUT' ? { fault: 'lost-response' } : { fault: 'pass' };
    if (x < TIER_FAULT_RATES.drop + TIER_FAULT_RATES['lost-response'] + TIER_FAULT_RATES['error-503']) return { fault: 'error-503' };
    return { fault: 'pass' };
  };
}

export interface TierKillPlan {
  at: StoreAt;
  local: string;
  seed: number;
  steps: number;
  /** The fault proxy's endpoint. */
  endpoint: string;
  deadlineMs: number;
}

/** Runs the training process until the seeded share of its upload bytes has settled, then SIGKILLs it. */
export async function killTieredUploader(p: TierKillPlan): Promise<SaveReport[]> {
  let total = 0;
  for (let step = 1; step <= p.steps; step++) total += tierContent(p.seed, step).totalBytes;
  const killAt = Math.floor(new SeededRandom(p.seed, 0x6b696c6c).nextFloat() * total);
  const done = new Map<string, number>();
  const killOnLine = (line: string): boolean => {
    const [event, step, bytes] = line.split(' ');
    if (event !== 'progress') return false;
    done.set(step!, Math.max(done.get(step!) ?? 0, Number(bytes)));
    return [...done.values()].reduce((a, b) => a + b, 0) >= killAt;
  };
  const args = ['--local', p.local, '--bucket', p.at.bucket, '--prefix', p.at.prefix, '--seed', String(p.seed), '--steps', String(p.steps)];
  const run = await runSaverChild({ args, endpoint: p.endpoint, deadlineMs: p.deadlineMs, writer: 0, childPath: TIER_CHILD, killOnLine });
  return run.reports;
}

/** After the kill: the local copy, the resume and what it sent. `upstream` is the server without the proxy. */
export async function resumeAndJudgeTier(at: StoreAt, local: string, seed: number, trial: number, upstream: string, reports: readonly SaveReport[]): Promise<TrialVerdict> {
  const v: TrialVerdict = { violations: [], counts: {} };
  const add = (name: string, n = 1): void => void (v.counts[name] = (v.counts[name] ?? 0) + n);
  const manifests = await judgeLocal(local, seed, reports, v, add);
  const storage = new S3Storage(at);
  try {
    const interrupted = new Map<number, number>();
    for (const m of manifests) {
      if ((await destinationHolds(storage, m.step, m)) === 'present') add('upload-done-before-kill');
      else interrupted.set(m.step, await bytesAlreadyThere(storage, m));
    }
    const by = trial % 2 === 0 ? 'holdfast sync' : 'reopen';
    const report = by === 'holdfast sync' ? await syncInAnotherProcess(local, at, upstream) : await reopenAndFlush(local, at);
    if (typeof report === 'string') {
      v.violations.push(`resume by ${by} failed: ${report}`);
      return v;
    }
    for (const [step, there] of interrupted) judgeResumed(step, there, report, by, v, add);
    const tiered = (await openStore({ local, durable: `s3://${at.bucket}/${at.prefix}`, upload: 'manual' })) as TieredStore;
    try {
      for (const c of await tiered.list()) if (c.tier !== 'durable') v.violations.push(`after the resume step ${c.step} is ${c.tier}, not durable`);
    } finally {
      await tiered.close();
    }
  } finally {
    await storage.close();
  }
  return v;
}

/** Every local checkpoint verifies and holds what was saved; every reported local commit is there. The manifests, for the resume. */
async function judgeLocal(local: string, seed: number, reports: readonly SaveReport[], v: TrialVerdict, add: (n: string) => void): Promise<Manifest[]> {
  const store = await openStore(local, { create: false });
  const manifests: Manifest[] = [];
  try {
    for (const r of await store.verify()) {
      if (!r.ok) {
        v.violations.push(`local step ${r.step} does not verify after the kill: ${r.problems.map((p) => p.message).join('; ')}`);
        continue;
      }
      const restored = await store.restore(r.step);
      if (contentDigest(restored.tensors, restored.state) !== tierContent(seed, r.step).digest) v.violations.push(`local step ${r.step} holds content that was not saved`);
      else add('local-copy-valid');
      manifests.push(await store.inspect(r.step));
    }
    const held = new Set(manifests.map((m) => m.step));
    for (const r of reports) if (r.outcome === 'committed' && !held.has(r.step)) v.violations.push(`step ${r.step} was reported saved, but the local tier does not hold it`);
  } finally {
    await store.close();
  }
  return manifests;
}

export function judgeResumed(step: number, there: number, report: UploadReport, by: string, v: TrialVerdict, add: (n: string, k?: number) => void): void {
  const r = report.results.find((x) => x.step === step);
  if (r === undefined || r.outcome !== 'copied') {
    v.violations.push(`the interrupted upload of step ${step} was not resumed by ${by} (${r === undefined ? 'not in its report' : `${r.outcome}: ${r.note ?? ''}`})`);
    return;
  }
  add('interrupted-upload-resumed');
  if (there > 0) add('resumed-with-bytes-on-server');
  add('resume-bytes-total', r.bytes);
  add('resume-bytes-already-there', there);
  add('resume-bytes-sent', r.sentBytes);
  const resent = r.sentBytes - (r.bytes - there);
  if (resent > 0) v.violations.push(`the resume of step ${step} sent ${r.sentBytes} of ${r.bytes} bytes though the server already held ${there}: ${resent} bytes re-sent`);
  else add('no-verified-part-resent');
}

/**
 * What the server holds of a checkpoint's upload: each file's completed object, or else the parts
 * of its newest multipart upload (the one a resume continues; s3-resumable-upload.ts).
 */
async function bytesAlreadyThere(storage: S3Storage, m: Manifest): Promise<number> {
  const prefix = storage.key(`${checkpointDirName(m.step)}/${m.nonce}/`);
  const objects = new Map((await storage.client.list(prefix)).map((o) => [o.key, o.sizeBytes]));
  const uploads = await storage.client.incompleteUploads(prefix);
  let bytes = 0;
  for (const f of m.files) {
    const key = prefix + f.path;
    const size = objects.get(key);
    if (size === f.size) {
      bytes += size;
      continue;
    }
    const newest = uploads.filter((u) => u.key === key).sort((a, b) => b.initiated - a.initiated)[0];
    if (newest === undefined) continue;
    const parts = await storage.client.s3.send(new ListPartsCommand({ Bucket: storage.client.bucket, Key: key, UploadId: newest.uploadId }));
    for (const part of parts.Parts ?? []) bytes += part.Size ?? 0;
  }
  return bytes;
}

/** `holdfast sync <local>::<durable> --json` in another process, straight to the server. */
function syncInAnotherProcess(local: string, at: StoreAt, upstream: string): Promise<UploadReport | string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, 'sync', `${local}::s3://${at.bucket}/${at.prefix}`, '--json'], { env: { ...process.env, AWS_ENDPOINT_URL: upstream }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 ? (JSON.parse(out) as UploadReport) : `exit ${code}: ${(out + err).trim().split('\n').filter((l) => l.includes('holdfast') || l.includes('HF_')).join(' ')}`));
  });
}

/** The training process starting again: opening the store resumes the upload by itself. */
async function reopenAndFlush(local: string, at: StoreAt): Promise<UploadReport | string> {
  let store: Store | undefined;
  try {
    store = await openStore({ local, durable: `s3://${at.bucket}/${at.prefix}` });
    return await (store as TieredStore).flush();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await store?.close().catch(() => undefined);
  }
}
