/**
 * Judges one S3 campaign trial through a clean connection (no proxy): every committed manifest
 * names whole objects (full verification) holding what some saver wrote; every reported commit
 * reads back and verifies; every save committed or failed with a typed error in time; no step
 * committed twice; every damaged body was refused; and gc (grace 0) then leaves no incomplete
 * upload while every committed checkpoint keeps its objects, untouched.
 */
import { contentDigest } from './kill-content.js';
import type { ProxyEvent } from './s3-fault-proxy.js';
import type { SaveReport, StoreAt } from './s3-savers.js';
import { checkpointDirName } from '../format/names.js';
import { IoRuntime } from '../io/io-runtime.js';
import { S3Storage } from '../storage/s3-storage.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';
import { S3_CAMPAIGN_LEASE } from './s3-saver-child.js';

export interface TrialVerdict {
  violations: string[];
  /** Invariant checks passed, by name (summed per fault class). */
  counts: Record<string, number>;
}

/** A check per trial that other parts add (tiering: the local copy valid, an interrupted upload resumable). */
export type ExtraInvariant = (at: StoreAt, reports: readonly SaveReport[]) => Promise<TrialVerdict>;

export async function judgeS3Trial(at: StoreAt, reports: readonly SaveReport[], digestsOf: (step: number) => string[], events: readonly ProxyEvent[]): Promise<TrialVerdict> {
  const v: TrialVerdict = { violations: [], counts: {} };
  const count = (name: string): void => void (v.counts[name] = (v.counts[name] ?? 0) + 1);
  const storage = new S3Storage(at);
  const io = new IoRuntime({ hashWorkers: 0 });
  try {
    const store = await openStore({ storage }, { runtime: io, lease: S3_CAMPAIGN_LEASE });
    const held = await committedContent(store, digestsOf, v, count);
    judgeReports(reports, held, v, count);
    for (const e of events) {
      if (e.fault !== 'flip-byte' || e.upstreamStatus === undefined) continue;
      if (e.upstreamStatus === 400) count('damaged-body-refused');
      else v.violations.push(`a body damaged in transit (${e.method} ${e.path}) was answered ${e.upstreamStatus}, not refused`);
    }
    await judgeGc(store, storage, held, v, count);
    await removeAll(storage, at.prefix);
  } finally {
    await io.close();
    await storage.close();
  }
  return v;
}

/** Step → digest of what it holds, for every committed step that verifies; violations for the rest. */
async function committedContent(store: Store, digestsOf: (step: number) => string[], v: TrialVerdict, count: (n: string) => void): Promise<Map<number, string>> {
  const held = new Map<number, string>();
  for (const report of await store.verify()) {
    if (!report.ok) {
      v.violations.push(`committed step ${report.step} does not verify (a manifest naming a missing or partial object?): ${report.problems.map((p) => p.message).join('; ')}`);
      continue;
    }
    count('committed-manifest-whole');
    const restored = await store.restore(report.step);
    const digest = contentDigest(restored.tensors, restored.state);
    if (!digestsOf(report.step).includes(digest)) v.violations.push(`committed step ${report.step} holds content no saver wrote`);
    held.set(report.step, digest);
  }
  return held;
}

function judgeReports(reports: readonly SaveReport[], held: Map<number, string>, v: TrialVerdict, count: (n: string) => void): void {
  const winners = new Map<number, number>();
  for (const r of reports) {
    if (r.outcome === 'committed') {
      winners.set(r.step, (winners.get(r.step) ?? 0) + 1);
      if (held.get(r.step) === r.digest) count('reported-commit-readable');
      else v.violations.push(`writer ${r.writer} reported step ${r.step} committed, but it ${held.has(r.step) ? 'holds other content' : 'is not readable'}`);
    } else if (r.outcome === 'failed') {
      if (r.code !== 'untyped') count(`save-failed-${r.code}`);
      else v.violations.push(`a save of step ${r.step} failed with an error that is not a HoldfastError`);
    } else if (r.outcome === 'hung') {
      v.violations.push(`a save of step ${r.step} (writer ${r.writer}) neither committed nor failed before its deadline`);
    } else {
      count('save-killed');
    }
  }
  for (const [step, n] of winners) {
    if (n > 1) v.violations.push(`${n} writers each reported committing step ${step}`);
    else count('one-commit-per-step');
  }
}

async function judgeGc(store: Store, storage: S3Storage, held: Map<number, string>, v: TrialVerdict, count: (n: string) => void): Promise<void> {
  const before = await objectVersions(storage, [...held.keys()]);
  const gc = await store.gc({ keepLast: 1_000_000, stagingGraceMs: 0 });
  const after = await objectVersions(storage, [...held.keys()]);
  const changed = [...before].filter(([key, version]) => after.get(key) !== version).map(([key]) => key);
  if (changed.length > 0) v.violations.push(`gc removed or changed ${changed.length} object(s) of committed checkpoints: ${changed.slice(0, 3).join(', ')}`);
  if (gc.removedSteps.length > 0) v.violations.push(`gc with no retention limit removed steps ${gc.removedSteps.join(', ')}`);
  const left = await storage.client.incompleteUploads(storage.key('ckpt-'));
  if (left.length > 0) v.violations.push(`${left.length} incomplete multipart upload(s) left after gc with no grace`);
  if (changed.length === 0 && left.length === 0) count('gc-kept-committed');
  if (gc.removedStaging.length > 0) count('gc-removed-leftovers');
}

/** Key → ETag of every object under the committed steps' prefixes. */
async function objectVersions(storage: S3Storage, steps: number[]): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const step of steps) for (const o of await storage.client.list(storage.key(`${checkpointDirName(step)}/`))) m.set(o.key, o.version);
  return m;
}

/** The trial's objects and uploads, gone (memstore servers hold everything in RAM). */
async function removeAll(storage: S3Storage, prefix: string): Promise<void> {
  for (const u of await storage.client.incompleteUploads(prefix)) await storage.client.abortUpload(u.key, u.uploadId);
  for (const o of await storage.client.list(prefix)) await storage.client.delete(o.key);
}
