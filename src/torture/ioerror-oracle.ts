/**
 * The I/O-error oracle (rules R10 and F7, docs/CRASH-MODEL.md; research
 * note §4 "I/O errors"): after a save
 * that met an injected fault, with the faults cleared, is the store exactly
 * as it was, and can the run go on?
 *
 * Checked, in order:
 * 1. The save's own answer. It may resolve only if every injected fault hit
 *    the best-effort `audit.log` line or the writer lease's release after the
 *    commit (a lease that cannot be taken fails the save before it writes); a save that resolves
 *    after any other failed call (above all a failed fsync) is a violation.
 *    A rejection must be a `HoldfastError`.
 * 2. Never retrying fsync on one descriptor (R10, F7): after a failed
 *    fsync/fdatasync of a handle, no later sync of that handle may succeed
 *    inside the save.
 * 3. The store as a restarted process sees it: it opens; `list()` shows the
 *    same committed steps as before (in `unsafe` a leftover of the failed step
 *    may be listed: unsafe leaves what it wrote, and the reader must either
 *    refuse it (torn) or, when only the manifest's close failed after all
 *    its bytes were written, find it whole and bit-exact: `failed-save-visible`,
 *    reported, a violation in the atomic modes); `latest()` and `restore()`
 *    give the previous newest checkpoint bit-exact (the new one if the save
 *    resolved); every earlier checkpoint still verifies.
 * 4. The run goes on: the continuing process saves again (the failed step
 *    with new bytes under a new nonce, or the next step if the save had
 *    resolved or its checkpoint is visible) and that checkpoint becomes the newest, bit-exact. In
 *    `unsafe`, a failed save can leave `ckpt-<step>` without a manifest,
 *    which blocks that step (HF_STEP_EXISTS) until `gc`; the oracle then runs
 *    gc once and counts it.
 */
import { isHoldfastError } from '../errors.js';
import type { InjectedFault } from '../fs/faulty-file-system.js';
import type { FileSystem } from '../fs/file-system.js';
import type { Op } from '../fs/op-log.js';
import { openStore } from '../store/open-store.js';
import type { DurabilityMode, SaveResult, Store } from '../store/types.js';
import { atStep, fileNamesOf, restoredDigest, runSave, STORE_ROOT, type SaveShape, type ShapeSave } from './powerloss-shapes.js';
import { trialRuntime } from './trial-runtime.js';

interface IoErrorTrialFacts {
  shape: SaveShape;
  mode: DurabilityMode;
  expected: ReadonlyMap<number, { digest: string; save: ShapeSave }>;
  earlierSteps: number[];
  /** The save's result or error. */
  result: SaveResult | undefined;
  error: unknown;
  injected: readonly InjectedFault[];
  /** Ops the save issued (recorded around the faulty file system). */
  log: readonly Op[];
  /** The file system after the save, faults cleared. */
  fs: FileSystem;
  /** The store object the save ran on (the continuing process). */
  store: Store;
}

interface IoErrorJudgement {
  /** `rejected:<code>` or `committed` (the fault only hit the audit line). */
  outcome: string;
  /** Informational labels: `gc-before-retry`, `torn-leftover`, `failed-save-visible`. */
  notes: string[];
  violations: string[];
}

/** Best effort after the commit: the audit line, and the release of the writer lease (a failure there cannot un-commit). */
const isAudit = (p: string): boolean => p.endsWith('/audit.log') || p.endsWith('/.lease') || p.includes('/.lease/');
const SYNC_KINDS = new Set(['fsync', 'fdatasync']);

/** R10: a handle whose fsync failed must not be synced again and trusted. */
export function fsyncRetries(log: readonly Op[]): string[] {
  const failed = new Map<number, number>();
  const problems: string[] = [];
  for (const op of log) {
    if (!SYNC_KINDS.has(op.kind) || !('handleId' in op)) continue;
    if (op.error !== undefined) failed.set(op.handleId, op.index);
    else if (failed.has(op.handleId)) problems.push(`#${op.index} ${op.kind} of ${op.path} succeeded on the descriptor whose ${op.kind} failed at #${failed.get(op.handleId)}`);
  }
  return problems;
}

async function digestOf(fs: FileSystem, store: Store, facts: IoErrorTrialFacts): Promise<{ step: number; ok: boolean } | null> {
  try {
    const r = await store.restore();
    const want = facts.expected.get(r.step);
    const got = want === undefined ? undefined : await restoredDigest(fs, r, want.save.kind, fileNamesOf(want.save));
    return { step: r.step, ok: want !== undefined && got === want.digest };
  } catch (e) {
    if (isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) return null;
    throw e;
  }
}

function label(e: unknown): string {
  return isHoldfastError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export async function judgeIoErrorTrial(facts: IoErrorTrialFacts): Promise<IoErrorJudgement> {
  const violations: string[] = [];
  const notes: string[] = [];
  const step = facts.shape.underTest.step;
  const previous = facts.earlierSteps.length > 0 ? facts.earlierSteps[facts.earlierSteps.length - 1]! : null;
  const faultAt = facts.injected.map((f) => `call ${f.index} ${f.kind} ${f.path}`).join(', ');
  const onlyAudit = facts.injected.every((f) => isAudit(f.path));

  // 1. The save's answer.
  let outcome: string;
  if (facts.result !== undefined) {
    outcome = 'committed';
    if (!onlyAudit) violations.push(`save resolved as committed although ${faultAt} failed`);
  } else {
    outcome = isHoldfastError(facts.error) ? `rejected:${facts.error.code}` : 'rejected:untyped';
    if (!isHoldfastError(facts.error)) violations.push(`save failed with an untyped error: ${label(facts.error)}`);
  }
  // 2. No fsync retried on a failed descriptor.
  violations.push(...fsyncRetries(facts.log));

  // 3. What a restarted reader sees.
  let newest = facts.result !== undefined ? step : previous;
  let nextStep = facts.result !== undefined ? step + 1 : step;
  try {
    const fresh = await openStore(STORE_ROOT, { runtime: trialRuntime(), fs: facts.fs, durability: facts.mode, create: false, shardSizeBytes: facts.shape.shardSizeBytes });
    const want = facts.result !== undefined ? [...facts.earlierSteps, step] : facts.earlierSteps;
    const listed = (await fresh.list()).map((c) => c.step);
    const extra = listed.filter((s) => !want.includes(s));
    const missing = want.filter((s) => !listed.includes(s));
    if (missing.length > 0) violations.push(`list() lost committed step(s) ${missing.join(', ')}`);
    if (extra.length === 1 && extra[0] === step && facts.mode === 'unsafe') {
      // unsafe leaves what it wrote: torn (caught on load), or whole when only the manifest's close failed.
      if (!(await fresh.verify(step))[0]!.ok) notes.push('torn-leftover');
      else {
        notes.push('failed-save-visible');
        newest = step;
        nextStep = step + 1;
      }
    } else if (extra.length > 0) {
      violations.push(`list() shows step(s) ${extra.join(', ')} of a save that ${facts.result ? 'committed another step' : 'failed'}`);
    }
    const latest = await fresh.latest();
    if ((latest?.step ?? null) !== newest) violations.push(`latest() is ${latest?.step ?? 'null'}, expected ${newest ?? 'null'} (the newest committed before the failed save)`);
    const restored = await digestOf(facts.fs, fresh, facts);
    if ((restored?.step ?? null) !== newest) violations.push(`restore() returned ${restored?.step ?? 'nothing'}, expected ${newest ?? 'nothing'}`);
    else if (restored !== null && !restored.ok) violations.push(`restore() of step ${restored.step} is not bit-exact`);
    for (const r of await fresh.verify()) {
      if (want.includes(r.step) && !r.ok) violations.push(`committed step ${r.step} no longer verifies: ${r.problems[0]?.message ?? ''}`);
    }
  } catch (e) {
    violations.push(`store unreadable after the failed save: ${label(e)}`);
    return { outcome, notes, violations };
  }

  // 4. The run goes on, in the same process.
  try {
    try {
      await runSave(facts.store, atStep(facts.shape.underTest, nextStep));
    } catch (e) {
      if (!(facts.mode === 'unsafe' && isHoldfastError(e, 'HF_STEP_EXISTS'))) throw e;
      notes.push('gc-before-retry');
      await facts.store.gc({ keepLast: 1_000_000 });
      await runSave(facts.store, atStep(facts.shape.underTest, nextStep));
    }
    const after = await digestOf(facts.fs, facts.store, facts);
    if (after?.step !== nextStep || !after.ok) violations.push(`after the next save of step ${nextStep}, restore() returned ${after?.step ?? 'nothing'}${after && !after.ok ? ' (not bit-exact)' : ''}`);
  } catch (e) {
    violations.push(`the next save (step ${nextStep}) failed: ${label(e)}`);
  }
  return { outcome, notes, violations };
}
