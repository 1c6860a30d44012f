/**
 * Campaign 4, I/O errors (rule R10, docs/CRASH-MODEL.md; research note §4; SQLite's I/O-error loop):
 * for each save shape × durability mode × fault, fail call 0 of the save,
 * then call 1, 2, … (every call the save makes through the `FileSystem`,
 * reads included) until a save runs to completion without reaching the
 * fault. Faults: EIO, ENOSPC (a pwrite first writes half its buffer: a
 * short write in the middle of a shard) and EDQUOT, each once (transient)
 * or on every later call of the same kind (persistent). So every fsync,
 * every directory fsync, the final rename, every create and write fails in
 * turn. ioerror-oracle.ts judges each trial.
 *
 * Optionally (`crashStatesPerTrial`), power also fails after the failed save:
 * the recorded ops (failed calls included; a failed sync poisons its inode,
 * R10) go through the crash model, and restore must still give a committed
 * checkpoint bit-exact (powerloss-oracle.ts).
 *
 * Stack: `Recording(Faulty(Memory))`, so the log holds the failed calls.
 * `CampaignOptions.trials` caps the failure points per shape × mode × fault
 * (the presets set it above any save's call count: every call is tried).
 * `workDir` is unused: every store lives in memory.
 */
import { CrashModel } from '../fs/crash-model.js';
import { FaultyFileSystem, type InjectedErrno, type InjectedFault } from '../fs/faulty-file-system.js';
import type { FileSystem } from '../fs/file-system.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import type { MemoryTree } from '../fs/memory-tree.js';
import { RecordingFileSystem } from '../fs/recording-file-system.js';
import { openStore } from '../store/open-store.js';
import { DURABILITY_MODES, type DurabilityMode, type SaveResult } from '../store/types.js';
import type { CampaignOptions, CampaignResult, CampaignRow, Violation } from './campaign.js';
import { judgeIoErrorTrial } from './ioerror-oracle.js';
import { describeRecordedSave, judgeCrashState, type RecordedSave } from './powerloss-oracle.js';
import { buildInitialTree, DEFAULT_SHAPES, expectedContents, runSave, shapeByName, STORE_ROOT, type SaveShape } from './powerloss-shapes.js';
import { wilson } from './wilson.js';
import { trialRuntime } from './trial-runtime.js';

type IoFaultName = 'EIO' | 'EIO-persistent' | 'ENOSPC' | 'ENOSPC-persistent' | 'EDQUOT' | 'EDQUOT-persistent';
const IO_FAULTS: readonly IoFaultName[] = ['EIO', 'EIO-persistent', 'ENOSPC', 'ENOSPC-persistent', 'EDQUOT', 'EDQUOT-persistent'];

interface IoErrorOptions extends CampaignOptions {
  /** Save shapes (powerloss-shapes.ts), default the four of `DEFAULT_SHAPES`. */
  shapes?: string[];
  /** Faults to inject at every call index (default EIO and ENOSPC, transient and persistent). */
  faults?: IoFaultName[];
  /** Power-loss states checked after each failed save, at the crash point after the failed op and at the end (default 0). */
  crashStatesPerTrial?: number;
  /** At most this many violations are listed per group (all are counted). Default 20. */
  maxViolationsListed?: number;
  /** Wraps the file system the save runs on, outside the recorder: tests break the engine on purpose with it (retry a failed fsync). */
  engineFs?: (fs: FileSystem) => FileSystem;
}

type Preset = Omit<IoErrorOptions, 'seed' | 'workDir' | 'onProgress'>;

/** CI: two shapes, every call index, EIO and ENOSPC once and for good, a few power-loss states after each failure. */
export const IOERROR_QUICK: Preset = {
  modes: [...DURABILITY_MODES],
  trials: 100_000,
  shapes: ['1-shard', 'after-2-commits'],
  faults: ['EIO', 'EIO-persistent', 'ENOSPC', 'ENOSPC-persistent'],
  crashStatesPerTrial: 2,
};

/** `holdfast torture ioerror --full`: every shape, every fault, every call index, 32 power-loss states after each failure. */
export const IOERROR_FULL: Preset = {
  modes: [...DURABILITY_MODES],
  trials: 100_000,
  shapes: [...DEFAULT_SHAPES, 'direct-1mib'],
  faults: [...IO_FAULTS],
  crashStatesPerTrial: 32,
};

function parseFault(name: IoFaultName): { errno: InjectedErrno; persistent: boolean } {
  const [errno, persistence] = name.split('-') as [InjectedErrno, string | undefined];
  return { errno, persistent: persistence === 'persistent' };
}

/** What the failed call was, for the report: `fsync shard`, `rename`, `pwrite manifest`, `syncDir store dir`, … */
function callLabel(f: Pick<InjectedFault, 'kind' | 'path'>): string {
  const p = f.path;
  const inCheckpoint = /\/(ckpt-\d+|\.staging\/[^/]+)\/[^/]+$/.test(p);
  let what: string;
  if (p.includes(' -> ')) what = '';
  else if (p.endsWith('.safetensors')) what = ' shard';
  else if (p.endsWith('/manifest.json')) what = ' manifest';
  else if (p.endsWith('/SHA256SUMS')) what = ' SHA256SUMS';
  else if (p.endsWith('/audit.log')) what = ' audit.log';
  else if (p.endsWith('/.lease/record')) what = ' lease record';
  else if (/\/\.lease\/[0-9a-f]+\.retired$/.test(p)) what = ' retired lease record';
  else if (p.endsWith('/.lease')) what = ' lease dir';
  else if (inCheckpoint) what = ' copied file';
  else if (p.startsWith('/src/')) what = ' source file';
  else if (p.endsWith('/.staging')) what = ' .staging';
  else if (/\/\.staging\/[^/]+$/.test(p)) what = ' staging dir';
  else if (p === STORE_ROOT) what = ' store dir';
  else if (/\/ckpt-\d+$/.test(p)) what = ' ckpt dir';
  else what = ` ${p}`;
  return `${f.kind}${what}`;
}

interface IoErrorTrialOutcome {
  /** False once the save ran to completion without reaching the fault: the loop ends. */
  faulted: boolean;
  /** Outcomes (powerloss-oracle.ts) of the power-loss states checked after the failure. */
  crashOutcomes: Record<string, number>;
  outcome: string;
  call: string;
  notes: string[];
  violations: string[];
  crashStates: number;
}

interface IoErrorTrialContext {
  shape: SaveShape;
  mode: DurabilityMode;
  initial: MemoryTree;
  seed: number;
  crashStatesPerTrial: number;
  engineFs?: ((fs: FileSystem) => FileSystem) | undefined;
}

/** Runs the save under test with call `callIndex` (counted from the save's first call) failing with `fault`, then judges. */
async function runIoErrorTrial(ctx: IoErrorTrialContext, fault: IoFaultName, callIndex: number): Promise<IoErrorTrialOutcome> {
  const { shape, mode } = ctx;
  const mem = MemoryFileSystem.fromTree(ctx.initial);
  const faulty = new FaultyFileSystem(mem, { seed: ctx.seed });
  const rec = new RecordingFileSystem(faulty, { recording: false });
  const store = await openStore(STORE_ROOT, { runtime: trialRuntime(), fs: ctx.engineFs?.(rec) ?? rec, durability: mode, shardSizeBytes: shape.shardSizeBytes, create: false });
  const { errno, persistent } = parseFault(fault);
  // ENOSPC/EDQUOT land half the buffer first (whole blocks on O_DIRECT handles), as a disk filling mid-write does.
  faulty.failAtCall(faulty.callCount + callIndex, errno, { persistent });
  rec.start();
  let result: SaveResult | undefined;
  let error: unknown;
  try {
    result = await runSave(store, shape.underTest);
  } catch (e) {
    error = e;
  }
  rec.stop();
  faulty.clearRules();
  const injected = [...faulty.injected];
  const log = [...rec.log];
  if (injected.length === 0) {
    const violations = result === undefined ? [`save failed with no fault injected: ${String(error)}`] : [];
    return { faulted: false, outcome: 'no-fault', call: 'none', notes: [], violations, crashStates: 0, crashOutcomes: {} };
  }
  const expected = expectedContents(shape, [shape.underTest.step + 1]);
  const earlierSteps = shape.earlier.map((s) => s.step).sort((a, b) => a - b);
  const base: RecordedSave = {
    mode,
    step: shape.underTest.step,
    earlierSteps,
    expected,
    log,
    ...describeRecordedSave(log, mode, shape.underTest.step),
  };
  // A save that failed never committed: nothing is owed beyond the earlier checkpoints, whatever the log holds.
  const recorded: RecordedSave = result === undefined ? { ...base, commitDoneAt: Number.POSITIVE_INFINITY } : base;
  const failedOp = log.findIndex((op) => op.error !== undefined);
  const crash = await crashAfterFailure(ctx, recorded, failedOp);
  const judged = await judgeIoErrorTrial({ shape, mode, expected, earlierSteps, result, error, injected, log, fs: faulty, store });
  // The commit layer's hardest case: the rename had happened when a later call (a directory fsync) failed.
  const afterRename = result === undefined && recorded.renameIndex >= 0 && failedOp > recorded.renameIndex;
  return {
    faulted: true,
    outcome: judged.outcome,
    call: callLabel(injected[0]!),
    notes: afterRename ? [...judged.notes, 'failed-after-rename'] : judged.notes,
    violations: [...judged.violations, ...crash.violations],
    crashStates: crash.states,
    crashOutcomes: Object.fromEntries(Object.entries(crash.outcomes).map(([o, n]) => [`${result === undefined ? 'afterRejected' : 'afterResolved'}.${o}`, n])),
  };
}

/** Power loss after the failed save: at the crash point right after the failed op, and after the save's last op. */
async function crashAfterFailure(ctx: IoErrorTrialContext, recorded: RecordedSave, failedOp: number): Promise<{ states: number; outcomes: Record<string, number>; violations: string[] }> {
  const outcomes: Record<string, number> = {};
  if (ctx.crashStatesPerTrial <= 0) return { states: 0, outcomes, violations: [] };
  const model = new CrashModel(ctx.initial, recorded.log, { seed: ctx.seed, maxExhaustiveUnits: 4, maxRandomSubsets: ctx.crashStatesPerTrial, tornSectors: true });
  const points = [...new Set([failedOp >= 0 ? failedOp + 1 : recorded.log.length, recorded.log.length])];
  const seen = new Set<string>();
  const violations: string[] = [];
  let states = 0;
  for (const k of points) {
    let taken = 0;
    for (const state of model.states(k, { seen })) {
      if (taken++ >= ctx.crashStatesPerTrial) break;
      states++;
      const v = await judgeCrashState(state, recorded);
      bump(outcomes, v.outcome);
      const integrity = v.outcome === 'torn-returned' || v.outcome === 'restore-crashed' || v.why === 'verified-but-not-returned';
      const durability = ctx.mode === 'atomic_dirsync' && v.outcome === 'lost-committed';
      if (integrity || durability) violations.push(`power loss after the failure: ${v.outcome} (owed ${v.owed ?? 'none'}, got ${v.restoredStep ?? 'nothing'}${v.detail ? `; ${v.detail}` : ''}); ${state.description}`);
    }
  }
  return { states, outcomes, violations };
}

/** Dry run: how many calls the save under test makes when nothing fails (reads included). */
async function countCalls(shape: SaveShape, mode: DurabilityMode, initial: MemoryTree): Promise<number> {
  const faulty = new FaultyFileSystem(MemoryFileSystem.fromTree(initial));
  const store = await openStore(STORE_ROOT, { runtime: trialRuntime(), fs: faulty, durability: mode, shardSizeBytes: shape.shardSizeBytes, create: false });
  const before = faulty.callCount;
  await runSave(store, shape.underTest);
  return faulty.callCount - before;
}

async function contextFor(shape: SaveShape, mode: DurabilityMode, seed: number, crashStatesPerTrial: number, engineFs?: (fs: FileSystem) => FileSystem): Promise<IoErrorTrialContext & { calls: number }> {
  const initial = await buildInitialTree(shape, mode);
  const calls = await countCalls(shape, mode, initial);
  return { shape, mode, initial, seed, crashStatesPerTrial, engineFs, calls };
}

interface Tally {
  mode: DurabilityMode;
  fault: IoFaultName;
  trials: number;
  violatingTrials: number;
  outcomes: Record<string, number>;
  calls: Record<string, number>;
  /** Per oracle note (`failed-save-visible`, …): which failed calls led to it. */
  noteCalls: Record<string, Record<string, number>>;
  crashStates: number;
}

const bump = (m: Record<string, number>, k: string, by = 1): void => {
  m[k] = (m[k] ?? 0) + by;
};

function replayLine(shape: string, mode: DurabilityMode, fault: IoFaultName, callIndex: number, seed: number, crashStatesPerTrial: number): string {
  const args = JSON.stringify({ shape, mode, fault, callIndex, seed, crashStatesPerTrial });
  return `node -e "import('./dist/src/torture/ioerror-campaign.js').then(async (m) => console.log(await m.replayIoErrorTrial(${args.replace(/"/g, '\\"')})))"`;
}

export async function runIoErrorCampaign(options: IoErrorOptions): Promise<CampaignResult> {
  const started = performance.now();
  const shapes = (options.shapes ?? DEFAULT_SHAPES).map(shapeByName);
  const faults = options.faults ?? ['EIO', 'EIO-persistent', 'ENOSPC', 'ENOSPC-persistent'];
  const maxListed = options.maxViolationsListed ?? 20;
  const crashStatesPerTrial = Math.max(0, options.crashStatesPerTrial ?? 0);
  if (!Number.isSafeInteger(options.trials) || options.trials < 1) throw new RangeError(`trials must be a positive integer, got ${options.trials}`);

  const contexts: IoErrorTrialContext[] = [];
  const counters: Record<string, number> = { trials: 0, crashStates: 0 };
  for (const shape of shapes) {
    for (const mode of options.modes) {
      const ctx = await contextFor(shape, mode, options.seed, crashStatesPerTrial, options.engineFs);
      contexts.push(ctx);
      counters[`${shape.name}.${mode}.calls`] = ctx.calls;
    }
  }
  const total = contexts.reduce((n, c) => n + Math.min(options.trials, counters[`${c.shape.name}.${c.mode}.calls`]! + 1) * faults.length, 0);
  let done = 0;

  const tallies = new Map<string, Tally>();
  const violations: Violation[] = [];
  const listed = new Map<string, number>();
  for (const ctx of contexts) {
    for (const fault of faults) {
      const key = `${ctx.mode}/${fault}`;
      let tally = tallies.get(key);
      if (tally === undefined) tallies.set(key, (tally = { mode: ctx.mode, fault, trials: 0, violatingTrials: 0, outcomes: {}, calls: {}, noteCalls: {}, crashStates: 0 }));
      for (let i = 0; i < options.trials; i++) {
        const t = await runIoErrorTrial(ctx, fault, i);
        done++;
        options.onProgress?.(done, total, `ioerror ${ctx.shape.name}/${key} call ${i}`);
        if (t.faulted) {
          tally.trials++;
          counters.trials!++;
          counters.crashStates! += t.crashStates;
          tally.crashStates += t.crashStates;
          for (const [o, n] of Object.entries(t.crashOutcomes)) bump(counters, `${ctx.mode}.${o}`, n);
          bump(tally.outcomes, t.outcome);
          for (const n of t.notes) {
            bump(tally.outcomes, n);
            bump((tally.noteCalls[n] ??= {}), t.call);
          }
          bump(tally.calls, t.call);
        } else {
          counters[`${ctx.shape.name}.${ctx.mode}.${fault}.failurePoints`] = i;
          if (t.violations.length > 0) tally.trials++; // a save that failed with nothing injected is a trial, and a broken one
        }
        if (t.violations.length > 0) {
          tally.violatingTrials++;
          const shown = listed.get(key) ?? 0;
          listed.set(key, shown + 1);
          if (shown < maxListed) {
            violations.push({
              group: key,
              trial: i,
              seed: options.seed,
              description: `${ctx.shape.name}: ${fault} at call ${i} (${t.call}) → ${t.outcome}: ${t.violations.join('; ')}`,
              replay: replayLine(ctx.shape.name, ctx.mode, fault, i, options.seed, crashStatesPerTrial),
            });
          }
        }
        if (!t.faulted) break;
      }
    }
  }

  const rows: CampaignRow[] = [...tallies.values()].map((t) => ({
    group: `${t.mode}/${t.fault}`,
    mode: t.mode,
    fault: t.fault,
    trials: t.trials,
    outcomes: { ...t.outcomes, ...(t.crashStates > 0 ? { 'power-loss-states-after': t.crashStates } : {}) },
    guarantee: wilson(t.trials - t.violatingTrials, t.trials),
    guaranteeLabel:
      'failure points where the save did not report a commit it had not made, failed with a typed error, left every committed checkpoint as it was ' +
      '(the previous one newest, bit-exact), and the next save succeeded' + (t.crashStates > 0 ? '; power loss afterwards lost nothing committed' : ''),
    required: true,
  }));
  for (const t of tallies.values()) for (const [call, n] of Object.entries(t.calls)) bump(counters, `${t.mode}.failedCall.${call}`, n);
  return {
    campaign: 'ioerror',
    seed: options.seed,
    rows,
    violations,
    counters,
    notes: notesOf([...tallies.values()], shapes, faults, crashStatesPerTrial, counters),
    durationMs: Math.round(performance.now() - started),
  };
}

function notesOf(tallies: Tally[], shapes: SaveShape[], faults: IoFaultName[], crashStatesPerTrial: number, counters: Record<string, number>): string[] {
  const notes = [
    `SQLite-style loop: for each shape (${shapes.map((s) => s.name).join(', ')}) × mode × fault (${faults.join(', ')}), call i of the save fails for i = 0, 1, 2, … ` +
      'until a save completes without reaching call i. Calls are every FileSystem call the save makes (stat, readdir, open, create, pwrite, fsync, ' +
      'directory fsync, rename, unlink, close…). "-persistent" keeps failing every later call of the same kind. ENOSPC and EDQUOT on a pwrite first write half of the buffer (a short write mid-shard).',
    'After each failure the faults are cleared and a restarted reader must find the same committed checkpoints, the previous one newest and bit-exact; ' +
      'then the continuing process saves the failed step again, which must succeed and become newest.' +
      (crashStatesPerTrial > 0 ? ` Then up to ${crashStatesPerTrial} power-loss states after the failed op and after the save's last op are restored too (a failed fsync leaves its data undetermined forever, R10).` : ''),
  ];
  for (const mode of [...new Set(tallies.map((t) => t.mode))]) {
    const ts = tallies.filter((t) => t.mode === mode);
    const calls: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    const noteCalls: Record<string, Record<string, number>> = {};
    for (const t of ts) {
      for (const [c, n] of Object.entries(t.calls)) bump(calls, c, n);
      for (const [o, n] of Object.entries(t.outcomes)) bump(outcomes, o, n);
      for (const [note, byCall] of Object.entries(t.noteCalls)) for (const [c, n] of Object.entries(byCall)) bump((noteCalls[note] ??= {}), c, n);
    }
    const via = (note: string): string =>
      Object.entries(noteCalls[note] ?? {})
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ×${n}`)
        .join(', ');
    const trials = ts.reduce((s, t) => s + t.trials, 0);
    const bad = ts.reduce((s, t) => s + t.violatingTrials, 0);
    const pick = (prefix: string): number => Object.entries(calls).filter(([c]) => c.startsWith(prefix)).reduce((s, [, n]) => s + n, 0);
    notes.push(
      `${mode}: ${trials} failure points, ${bad} with a broken guarantee. Outcomes: ${Object.entries(outcomes).sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ')}. ` +
        `Failed calls included fsync/fdatasync ${pick('fsync') + pick('fdatasync')}, directory fsync ${pick('syncDir')}, rename ${pick('rename')}, ` +
        `pwrite of a shard ${pick('pwrite shard')}, pwrite of the manifest ${pick('pwrite manifest')}, create ${pick('create')}, mkdir ${pick('mkdir')}.`,
    );
    if ((outcomes['committed'] ?? 0) > 0) {
      notes.push(`${mode}: ${outcomes['committed']} saves resolved although a call failed: each time the only failed calls were after the commit, on the best-effort release of the writer lease or the unsynced audit.log line, and the checkpoint was committed and bit-exact.`);
    }
    if ((outcomes['gc-before-retry'] ?? 0) > 0) {
      notes.push(
        `${mode}: ${outcomes['gc-before-retry']} failed saves left ckpt-<step> without a manifest (unsafe leaves what it wrote); retrying the step gave HF_STEP_EXISTS until gc removed it. Failed calls: ${via('gc-before-retry')}.`,
      );
    }
    if ((outcomes['failed-after-rename'] ?? 0) > 0) {
      notes.push(
        `${mode}: ${outcomes['failed-after-rename']} saves failed after the rename had installed ckpt-<step> (${via('failed-after-rename')}); ` +
          'each time the commit layer renamed it back into staging before reporting the error, so no reader saw it and list() did not show it.',
      );
    }
    const crashed = (which: string): string =>
      Object.entries(counters)
        .filter(([k]) => k.startsWith(`${mode}.${which}.`))
        .map(([k, n]) => `${k.slice(k.lastIndexOf('.') + 1)} ${n}`)
        .join(', ');
    if (crashed('afterRejected') !== '') {
      notes.push(
        `${mode}, power loss after a rejected save: ${crashed('afterRejected')}. "newest-committed" here is the rejected save's own checkpoint, which ` +
          'was already whole on disk (files, manifest and, in the atomic modes, the rename) when a later call failed: complete and verified, so allowed. ' +
          `Checkpoints committed before the failed save were lost in ${counters[`${mode}.afterRejected.lost-committed`] ?? 0} of these states.`,
      );
    }
    if (crashed('afterResolved') !== '') {
      notes.push(`${mode}, power loss after a save that resolved (the fault hit only the lease release or the audit line): ${crashed('afterResolved')}.`);
    }
    if ((outcomes['failed-save-visible'] ?? 0) > 0) {
      notes.push(
        `${mode}: ${outcomes['failed-save-visible']} failed saves left their checkpoint whole and visible: every byte, the manifest included, was written before the ` +
          `failing call (${via('failed-save-visible')}), and unsafe never removes what it wrote. save() rejected, yet the checkpoint restores bit-exact and its step ` +
          'is taken (HF_STEP_EXISTS); the run goes on with the next step. Not torn, so allowed in unsafe; it would be a violation in the atomic modes.',
      );
    }
    if ((outcomes['torn-leftover'] ?? 0) > 0) {
      notes.push(
        `${mode}: ${outcomes['torn-leftover']} failed saves left a torn checkpoint with a (short or empty) manifest under its final name (${via('torn-leftover')}); ` +
          'list() shows it, verify() fails it, and the next reader quarantined it and returned the previous checkpoint.',
      );
    }
  }
  return notes;
}

/** Reruns one trial from the parameters its violation printed (exported: the `replayLine` command imports it by name). */
export async function replayIoErrorTrial(p: { shape: string; mode: DurabilityMode; fault: IoFaultName; callIndex: number; seed: number; crashStatesPerTrial?: number }): Promise<string> {
  const ctx = await contextFor(shapeByName(p.shape), p.mode, p.seed, p.crashStatesPerTrial ?? 0);
  const t = await runIoErrorTrial(ctx, p.fault, p.callIndex);
  return JSON.stringify(t, null, 2);
}

