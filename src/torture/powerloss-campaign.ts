/**
 * Campaign 2, power loss (DESIGN §9; rules R1–R12, F…, B3 in
 * docs/CRASH-MODEL.md; research note §4): for each
 * save shape × durability mode, record every file-system op of one save, let
 * the crash model generate the states a real file system may be left in when
 * power fails after each prefix of that log (unsynced data lost, kept, or
 * torn at 4096-byte blocks and 512-byte sectors; each unsynced create,
 * rename, unlink lost independently; synced ops kept), and restore on every
 * distinct state, in memory (powerloss-oracle.ts judges each one).
 *
 * Enumeration (R11): a crash point with at most `maxExhaustiveUnits` pending
 * units gets all 2^n subsets; beyond that, all-kept, none-kept, each unit
 * alone lost / alone kept, each multi-unit op omitted, then `trials` seeded
 * random subsets. With `tornSectors`, `trials` random subsets that tear kept
 * blocks on sector edges are added to exhaustive crash points too. Each
 * `lostBlockContents` entry is one more pass over the same log (a lost block
 * reads as its old bytes, or as seeded garbage in the paranoid pass). States
 * are deduplicated by a Merkle digest of the whole tree across crash points
 * and passes of one shape × mode, so each distinct state is restored once.
 * Crash points right after fsync, directory fsync and rename go first (B3).
 *
 * `CampaignOptions.trials` is the number of random subsets per crash point.
 * `workDir` is unused: every state lives in memory.
 */
import { isHoldfastError } from '../errors.js';
import { CrashModel, type CrashModelReport, type CrashState } from '../fs/crash-model.js';
import type { FileSystem } from '../fs/file-system.js';
import type { LostBlockContent } from '../fs/crash-state.js';
import { formatTree } from '../fs/memory-tree.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import type { Op } from '../fs/op-log.js';
import { RecordingFileSystem } from '../fs/recording-file-system.js';
import { openStore } from '../store/open-store.js';
import { DURABILITY_MODES, type DurabilityMode } from '../store/types.js';
import type { CampaignOptions, CampaignResult, CampaignRow, Violation } from './campaign.js';
import { describeRecordedSave, judgeCrashState, POWERLOSS_OUTCOMES, type PowerlossRecording, type PowerlossVerdict, type RecordedSave } from './powerloss-oracle.js';
import { RANKS_SHAPE, recordRanksSave } from './powerloss-ranks.js';
import { atStep, buildInitialTree, DEFAULT_SHAPES, expectedContents, runSave, shapeByName, STORE_ROOT, type SaveShape } from './powerloss-shapes.js';
import { wilson } from './wilson.js';
import { trialRuntime } from './trial-runtime.js';

interface PowerlossOptions extends CampaignOptions {
  /** Save shapes (powerloss-shapes.ts), default the four of `DEFAULT_SHAPES`. */
  shapes?: string[];
  /** Crash points with at most this many pending units are enumerated exhaustively (default 12). */
  maxExhaustiveUnits?: number;
  /** Per-shape override of `maxExhaustiveUnits` (e.g. 16 for the 3-file save, so every state of every prefix is tried). */
  exhaustiveUnitsByShape?: Record<string, number>;
  /** Tear kept blocks on 512-byte sector edges in the random subsets (R3). Default true. */
  tornSectors?: boolean;
  /** One pass per entry: what a lost block reads as (default `['old']`). */
  lostBlockContents?: LostBlockContent[];
  /** States restored at once (they overlap on the hashing workers). Default 8. */
  concurrency?: number;
  /**
   * After restoring, redo the save as a resumed run would (the step under
   * test again, or the next step when it came back) on every n-th state;
   * 0 never. In `atomic_dirsync` a failure is a violation. Default 0.
   */
  resumeEvery?: number;
  /** At most this many violations are listed per group (all are counted). Default 20. */
  maxViolationsListed?: number;
  /**
   * Wraps the file system the save under test runs on, outside the recorder.
   * Tests use it to break the engine on purpose (drop a directory fsync) and
   * prove the oracle notices.
   */
  engineFs?: (fs: FileSystem) => FileSystem;
}

type Preset = Omit<PowerlossOptions, 'seed' | 'workDir' | 'onProgress'>;

/**
 * CI: the four default shapes and the 4-rank save, exhaustive up to 8 pending units, 48 random
 * subsets per crash point; ≈3,800 states.
 */
export const POWERLOSS_QUICK: Preset = {
  modes: [...DURABILITY_MODES],
  trials: 48,
  shapes: [...DEFAULT_SHAPES, RANKS_SHAPE],
  maxExhaustiveUnits: 8,
  tornSectors: true,
  lostBlockContents: ['old'],
  resumeEvery: 7,
};

/**
 * `holdfast torture powerloss --full`: five shapes (the fifth, 1 MiB through
 * O_DIRECT, is sampled), every subset up to 12 pending units (16 for the
 * 3-file save, so every state of every prefix of it is tried), 4,096 random
 * subsets per crash point, and a second, paranoid pass where lost blocks read
 * as garbage. Every second state also redoes the save after restore.
 */
export const POWERLOSS_FULL: Preset = {
  modes: [...DURABILITY_MODES],
  trials: 4096,
  shapes: [...DEFAULT_SHAPES, 'direct-1mib', RANKS_SHAPE],
  maxExhaustiveUnits: 12,
  exhaustiveUnitsByShape: { '1-shard': 16 },
  tornSectors: true,
  lostBlockContents: ['old', 'garbage'],
  resumeEvery: 2,
};

/** Builds the shape's store in `mode`, then records every op of the save under test. */
async function recordShapeSave(shape: SaveShape, mode: DurabilityMode, engineFs?: (fs: FileSystem) => FileSystem): Promise<PowerlossRecording> {
  const initial = await buildInitialTree(shape, mode);
  const rec = new RecordingFileSystem(MemoryFileSystem.fromTree(initial), { recording: false });
  const store = await openStore(STORE_ROOT, { runtime: trialRuntime(), fs: engineFs?.(rec) ?? rec, durability: mode, shardSizeBytes: shape.shardSizeBytes, create: false });
  rec.start();
  await runSave(store, shape.underTest);
  rec.stop();
  const log: readonly Op[] = [...rec.log];
  const saved: RecordedSave = {
    mode,
    step: shape.underTest.step,
    earlierSteps: shape.earlier.map((s) => s.step).sort((a, b) => a - b),
    expected: expectedContents(shape, [shape.underTest.step + 1]),
    log,
    ...describeRecordedSave(log, mode, shape.underTest.step),
  };
  return {
    name: shape.name,
    description: shape.description,
    mode,
    initial,
    log,
    commitDoneAt: saved.commitDoneAt,
    judge: (state) => judgeCrashState(state, saved),
    resume: (state, verdict) => resumeCheck(state, saved, shape, verdict),
  };
}

/** The shape's recording, or the multi-rank save's (which needs an atomic mode: undefined in `unsafe`). */
function recordSave(name: string, mode: DurabilityMode, engineFs?: (fs: FileSystem) => FileSystem): Promise<PowerlossRecording | undefined> {
  if (name === RANKS_SHAPE) return mode === 'unsafe' ? Promise.resolve(undefined) : recordRanksSave(mode, engineFs);
  return recordShapeSave(shapeByName(name), mode, engineFs);
}

interface Tally {
  shape: string;
  mode: DurabilityMode;
  states: number;
  outcomes: Record<string, number>;
  /** Why the checkpoint under test was not returned, split by whether its commit had completed. */
  whyLost: Record<string, number>;
  whyInFlight: Record<string, number>;
  /** First example state per `why` (lost-committed ones). */
  examples: Record<string, string>;
  quarantinedStates: number;
  /** Multi-rank saves: states with a torn rank or epoch record, and with a lost epoch fencing rests on. */
  recordTorn: number;
  fencingLost: number;
  newestBeforeCommitDone: number;
  resumeChecked: number;
  resumeFailed: Record<string, number>;
  integrityBroken: number;
  /** States that break this row's guarantee (counted once each). */
  brokenStates: number;
  violations: number;
  crashPoints: number;
  report: CrashModelReport[];
}

function newTally(shape: string, mode: DurabilityMode, crashPoints: number): Tally {
  return {
    shape,
    mode,
    states: 0,
    outcomes: Object.fromEntries(POWERLOSS_OUTCOMES.map((o) => [o, 0])),
    whyLost: {},
    whyInFlight: {},
    examples: {},
    quarantinedStates: 0,
    recordTorn: 0,
    fencingLost: 0,
    newestBeforeCommitDone: 0,
    resumeChecked: 0,
    resumeFailed: {},
    integrityBroken: 0,
    brokenStates: 0,
    violations: 0,
    crashPoints,
    report: [],
  };
}

const bump = (m: Record<string, number>, k: string, by = 1): void => {
  m[k] = (m[k] ?? 0) + by;
};

/** Integrity (every mode): restore never returns torn bytes, never throws, never skips a checkpoint that verifies; a rank or epoch record is whole or absent. */
function breaksIntegrity(v: PowerlossVerdict): boolean {
  return v.outcome === 'torn-returned' || v.outcome === 'restore-crashed' || v.why === 'verified-but-not-returned' || v.recordProblem !== undefined;
}

/** Durability: restore returns the newest checkpoint whose commit had completed, and the epochs fencing rests on survived (required in atomic_dirsync). */
function breaksDurability(v: PowerlossVerdict): boolean {
  return v.outcome === 'lost-committed' || v.fencingProblem !== undefined;
}

interface ModelParams {
  seed: number;
  maxExhaustiveUnits: number;
  trials: number;
  tornSectors: boolean;
  lostBlockContent: LostBlockContent;
}

function modelFor(rec: PowerlossRecording, p: ModelParams): CrashModel {
  return new CrashModel(rec.initial, rec.log, {
    seed: p.seed,
    maxExhaustiveUnits: p.maxExhaustiveUnits,
    maxRandomSubsets: p.trials,
    tornSectors: p.tornSectors,
    lostBlockContent: p.lostBlockContent,
  });
}

function replayLine(shape: string, mode: DurabilityMode, p: ModelParams, crashPoint: number, subsetIndex: number): string {
  const args = JSON.stringify({ shape, mode, ...p, crashPoint, subsetIndex });
  return `node -e "import('./dist/src/torture/powerloss-campaign.js').then(async (m) => console.log(await m.replayPowerlossState(${args.replace(/"/g, '\\"')})))"`;
}

/**
 * Redo the save as a resumed run would, on the state restore left behind:
 * the step under test again if it did not come back (a new nonce, so a
 * staging leftover is no obstacle), else the next step.
 */
async function resumeCheck(state: CrashState, rec: RecordedSave, shape: SaveShape, verdict: PowerlossVerdict): Promise<string | undefined> {
  const step = verdict.restoredStep === rec.step ? rec.step + 1 : rec.step;
  try {
    const store = await openStore(STORE_ROOT, { runtime: trialRuntime(), fs: state.fs, durability: rec.mode, shardSizeBytes: shape.shardSizeBytes, create: false });
    await runSave(store, atStep(shape.underTest, step));
    const latest = await store.latest();
    return latest?.step === step ? undefined : `after the resumed save of step ${step}, latest() is ${latest?.step ?? 'null'}`;
  } catch (e) {
    return isHoldfastError(e) ? e.code : e instanceof Error ? e.name : 'throw';
  }
}

async function forEachConcurrent<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  for (const item of items) {
    const p: Promise<void> = fn(item).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
}

export async function runPowerlossCampaign(options: PowerlossOptions): Promise<CampaignResult> {
  const started = performance.now();
  const shapes = options.shapes ?? DEFAULT_SHAPES;
  for (const name of shapes) if (name !== RANKS_SHAPE) shapeByName(name);
  const passes = options.lostBlockContents ?? ['old'];
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const resumeEvery = Math.max(0, options.resumeEvery ?? 0);
  const maxListed = options.maxViolationsListed ?? 20;
  if (!Number.isSafeInteger(options.trials) || options.trials < 0) throw new RangeError(`trials must be a non-negative integer, got ${options.trials}`);

  // Record every save first, so progress can count crash points.
  const recordings: PowerlossRecording[] = [];
  for (const shape of shapes) {
    for (const mode of options.modes) {
      const rec = await recordSave(shape, mode, options.engineFs);
      if (rec !== undefined) recordings.push(rec);
    }
  }
  const total = recordings.reduce((n, r) => n + (r.log.length + 1) * passes.length, 0);
  let done = 0;

  const tallies: Tally[] = [];
  const violations: Violation[] = [];
  let stateNumber = 0;
  for (const rec of recordings) {
    const tally = newTally(rec.name, rec.mode, rec.log.length + 1);
    tallies.push(tally);
    const group = `${rec.name}/${rec.mode}`;
    const seen = new Set<string>();
    for (const lostBlockContent of passes) {
      const params: ModelParams = {
        seed: options.seed,
        maxExhaustiveUnits: options.exhaustiveUnitsByShape?.[rec.name] ?? options.maxExhaustiveUnits ?? 12,
        trials: options.trials,
        tornSectors: options.tornSectors ?? true,
        lostBlockContent,
      };
      const model = modelFor(rec, params);
      for (const k of model.prioritizedCrashPoints()) {
        await forEachConcurrent(model.states(k, { seen }), concurrency, async (state) => {
          const n = stateNumber++;
          const verdict = await rec.judge(state);
          tally.states++;
          bump(tally.outcomes, verdict.outcome);
          if (verdict.quarantined.length > 0) tally.quarantinedStates++;
          if (verdict.recordProblem !== undefined) tally.recordTorn++;
          if (verdict.fencingProblem !== undefined) tally.fencingLost++;
          if (verdict.outcome === 'newest-committed' && state.crashPoint < rec.commitDoneAt) tally.newestBeforeCommitDone++;
          if (verdict.why !== undefined) {
            const committed = state.crashPoint >= rec.commitDoneAt;
            bump(committed ? tally.whyLost : tally.whyInFlight, verdict.why);
            if (committed && tally.examples[verdict.why] === undefined) tally.examples[verdict.why] = state.description;
          }
          let resumeProblem: string | undefined;
          if (resumeEvery > 0 && n % resumeEvery === 0 && verdict.outcome !== 'restore-crashed') {
            tally.resumeChecked++;
            resumeProblem = await rec.resume(state, verdict);
            if (resumeProblem !== undefined) bump(tally.resumeFailed, resumeProblem);
          }
          const integrity = breaksIntegrity(verdict);
          const durability = rec.mode === 'atomic_dirsync' && (breaksDurability(verdict) || resumeProblem !== undefined);
          if (integrity) tally.integrityBroken++;
          if (integrity || breaksDurability(verdict) || durability) tally.brokenStates++;
          if (!integrity && !durability) return;
          tally.violations++;
          if (tally.violations > maxListed) return;
          const what = resumeProblem !== undefined && !breaksDurability(verdict) && !integrity ? `resume failed (${resumeProblem})` : verdict.outcome;
          violations.push({
            group,
            trial: n,
            seed: options.seed,
            description:
              `${what}: owed step ${verdict.owed ?? 'none'}, restore returned ${verdict.restoredStep ?? 'nothing'}` +
              `${verdict.why ? ` (${verdict.why})` : ''}${verdict.detail ? `; ${verdict.detail}` : ''}` +
              `${verdict.recordProblem ? `; record: ${verdict.recordProblem}` : ''}${verdict.fencingProblem ? `; fencing: ${verdict.fencingProblem}` : ''}; ${lostBlockContent} pass; ${state.description}`,
            replay: replayLine(rec.name, rec.mode, params, state.crashPoint, state.subsetIndex),
          });
        });
        done++;
        options.onProgress?.(done, total, `powerloss ${group} (${lostBlockContent}) crash point ${k}/${rec.log.length}: ${tally.states} states`);
      }
      tally.report.push(model.report());
    }
  }

  return {
    campaign: 'powerloss',
    seed: options.seed,
    rows: rowsOf(tallies),
    violations,
    counters: countersOf(tallies, recordings),
    notes: notesOf(tallies, recordings, options, passes),
    durationMs: Math.round(performance.now() - started),
  };
}

function rowsOf(tallies: Tally[]): CampaignRow[] {
  const rows: CampaignRow[] = [];
  for (const t of tallies) {
    const outcomes: Record<string, number> = { ...t.outcomes, quarantined: t.quarantinedStates };
    if (t.shape === RANKS_SHAPE) Object.assign(outcomes, { 'record-torn': t.recordTorn, 'fencing-lost': t.fencingLost });
    if (t.resumeChecked > 0) {
      outcomes['resume-checked'] = t.resumeChecked;
      outcomes['resume-failed'] = Object.values(t.resumeFailed).reduce((a, b) => a + b, 0);
    }
    rows.push({
      group: `${t.shape}/${t.mode}`,
      mode: t.mode,
      fault: `power loss: ${t.shape}`,
      trials: t.states,
      outcomes,
      guarantee: wilson(t.states - t.brokenStates, t.states),
      guaranteeLabel:
        'distinct crash states where restore returned, bit-exact, the newest checkpoint whose commit had completed (or the one in flight)' +
        (t.resumeChecked > 0 && t.mode === 'atomic_dirsync' ? ', and a resumed save succeeded' : ''),
      required: t.mode === 'atomic_dirsync',
    });
  }
  const modes = [...new Set(tallies.map((t) => t.mode))];
  for (const mode of modes) {
    const ts = tallies.filter((t) => t.mode === mode);
    const n = ts.reduce((s, t) => s + t.states, 0);
    const bad = ts.reduce((s, t) => s + t.integrityBroken, 0);
    rows.push({
      group: `integrity/${mode}`,
      mode,
      fault: 'power loss: all shapes',
      trials: n,
      outcomes: { ok: n - bad, 'integrity-broken': bad },
      guarantee: wilson(n - bad, n),
      guaranteeLabel: 'distinct crash states where restore neither returned torn bytes, nor threw, nor skipped a checkpoint that verifies',
      required: true,
    });
  }
  return rows;
}

function countersOf(tallies: Tally[], recordings: PowerlossRecording[]): Record<string, number> {
  const c: Record<string, number> = { crashPoints: 0, distinctStates: 0, subsetsTried: 0, duplicateStates: 0, exhaustiveCrashPoints: 0, sampledCrashPoints: 0, maxPendingUnits: 0 };
  for (const [i, t] of tallies.entries()) {
    const key = `${t.shape}.${t.mode}`;
    const rec = recordings[i]!;
    c.crashPoints! += t.crashPoints;
    c.distinctStates! += t.states;
    c[`${key}.ops`] = rec.log.length;
    c[`${key}.crashPoints`] = t.crashPoints;
    c[`${key}.states`] = t.states;
    c[`${key}.commitDoneAt`] = rec.commitDoneAt;
    // Every pass walks the same crash points: count them once, add up the subsets.
    const last = t.report[t.report.length - 1];
    c[`${key}.exhaustiveCrashPoints`] = last?.exhaustiveCrashPoints ?? 0;
    c[`${key}.sampledCrashPoints`] = last?.sampledCrashPoints ?? 0;
    c[`${key}.maxPendingUnits`] = last?.maxPendingUnits ?? 0;
    c.exhaustiveCrashPoints! += last?.exhaustiveCrashPoints ?? 0;
    c.sampledCrashPoints! += last?.sampledCrashPoints ?? 0;
    c.maxPendingUnits = Math.max(c.maxPendingUnits!, last?.maxPendingUnits ?? 0);
    for (const r of t.report) {
      c.subsetsTried! += r.subsetsTried;
      c.duplicateStates! += r.duplicateStates;
      bump(c, `${key}.subsetsTried`, r.subsetsTried);
    }
    for (const [why, n] of Object.entries(t.whyLost)) bump(c, `${t.mode}.lost.${why}`, n);
    for (const [why, n] of Object.entries(t.whyInFlight)) bump(c, `${t.mode}.inFlight.${why}`, n);
    bump(c, `${t.mode}.quarantinedStates`, t.quarantinedStates);
    if (t.shape === RANKS_SHAPE) Object.assign(c, { [`${key}.recordTorn`]: t.recordTorn, [`${key}.fencingLost`]: t.fencingLost, [`${key}.epochDoneAt`]: rec.epochDoneAt ?? -1 });
    bump(c, `${t.mode}.newestBeforeCommitDone`, t.newestBeforeCommitDone);
    if (t.resumeChecked > 0) bump(c, `${t.mode}.resumeChecked`, t.resumeChecked);
    for (const [why, n] of Object.entries(t.resumeFailed)) bump(c, `${t.mode}.resumeFailed.${why}`, n);
  }
  return c;
}

const WHY_TEXT: Record<string, string> = {
  'rename-lost':
    'the rename of .staging/<step>-<nonce> to ckpt-<step> was not durable: nothing fsynced the store directory after it (F3: rename is atomic, not durable), so power loss dropped it and only the staging directory survived',
  'manifest-entry-lost':
    'ckpt-<step> is in place but manifest.json is not: its directory entry was never fsynced (fsync of a file never makes its name durable, R1/F1), so readers see no checkpoint',
  'dir-entry-lost': 'unsafe: the mkdir of ckpt-<step> itself was not durable (no directory fsync)',
  'detected:hash': 'a shard or file whose blocks were lost or torn (unsynced data, R2/R3): the size survived, the bytes did not; SHA-256 caught it, restore quarantined the checkpoint and rolled back',
  'detected:size': 'a file whose size change was lost (unsynced): caught by the size check, quarantined, rolled back',
  'detected:missing': "a shard's or SHA256SUMS' directory entry was lost while the manifest's survived: caught, quarantined, rolled back",
  'detected:bad-manifest': 'manifest.json survived as a name but its bytes did not (empty, zeros, torn or garbage): its hash check refused it, quarantined, rolled back',
  'detected:bad-header': 'a shard header was torn: refused, quarantined, rolled back',
  'detected:foreign-shard': 'a shard header carried other metadata: refused, quarantined, rolled back',
  'not-yet-installed': 'the crash came before the checkpoint was installed (rename or manifest not yet issued)',
  'verified-but-not-returned': 'the checkpoint verifies but restore did not return it (a restore bug)',
};

function notesOf(tallies: Tally[], recordings: PowerlossRecording[], options: PowerlossOptions, passes: LostBlockContent[]): string[] {
  const notes: string[] = [
    `Crash model: R1–R11 of the research note. Data units are 4096-byte blocks; unsynced blocks are lost (reading as ${passes.join(' / ')} bytes), kept, or torn on 512-byte sector edges` +
      `${options.tornSectors === false ? ' (tears off)' : ''}; every unsynced create, mkdir, rename and unlink is lost or kept independently in each directory it touches; a rename is atomic; synced ops are kept. ` +
      `Exhaustive up to ${options.maxExhaustiveUnits ?? 12} pending units${options.exhaustiveUnitsByShape ? ` (${Object.entries(options.exhaustiveUnitsByShape).map(([s, u]) => `${s}: ${u}`).join(', ')})` : ''}, else sampled with ${options.trials} seeded random subsets per crash point.`,
    'The store before the save under test (descriptor, earlier checkpoints) is taken as durable. A checkpoint counts as committed from the op after the commit protocol\'s last op; ' +
      'save() then appends one unsynced, best-effort audit.log line before it returns, so this is stricter than "save() returned".',
  ];
  for (const rec of recordings.filter((r, i) => recordings.findIndex((x) => x.name === r.name) === i)) notes.push(`Shape ${rec.name}: ${rec.description}.`);
  for (const mode of [...new Set(tallies.map((t) => t.mode))]) {
    const ts = tallies.filter((t) => t.mode === mode);
    const recs = recordings.filter((r) => r.mode === mode);
    const states = ts.reduce((s, t) => s + t.states, 0);
    const lost = ts.reduce((s, t) => s + t.outcomes['lost-committed']!, 0);
    const whyLost: Record<string, number> = {};
    const whyInFlight: Record<string, number> = {};
    const examples: Record<string, string> = {};
    for (const t of ts) {
      for (const [w, n] of Object.entries(t.whyLost)) bump(whyLost, w, n);
      for (const [w, n] of Object.entries(t.whyInFlight)) bump(whyInFlight, w, n);
      for (const [w, e] of Object.entries(t.examples)) examples[w] ??= `${t.shape}: ${e}`;
    }
    const ops = recs.map((r) => `${r.name} ${r.log.length} ops (commit done after op #${r.commitDoneAt - 1})`).join('; ');
    const detected = Object.entries({ ...whyInFlight })
      .filter(([w]) => w.startsWith('detected:'))
      .reduce((s, [, n]) => s + n, 0) + Object.entries(whyLost).filter(([w]) => w.startsWith('detected:')).reduce((s, [, n]) => s + n, 0);
    const head = `${mode}: ${states} distinct states; ${lost} lost a committed checkpoint; ${detected} held a torn checkpoint under its final name, every one caught by verification. Saves: ${ops}.`;
    notes.push(head);
    for (const [why, n] of Object.entries(whyLost).sort((a, b) => b[1] - a[1])) {
      notes.push(`${mode} lost the committed checkpoint in ${n} states because ${WHY_TEXT[why] ?? why}. Example: ${examples[why] ?? '—'}`);
    }
    const tornInFlight = Object.entries(whyInFlight).filter(([w]) => w.startsWith('detected:'));
    if (tornInFlight.length > 0) {
      notes.push(
        `${mode}, crash before the commit completed: ${tornInFlight.map(([w, n]) => `${n} × ${w}`).join(', ')} ` +
          '(a torn checkpoint under its final name with a manifest; restore quarantined it and returned the previous one).',
      );
    }
    const resumeFailed: Record<string, number> = {};
    for (const t of ts) for (const [w, n] of Object.entries(t.resumeFailed)) bump(resumeFailed, w, n);
    const checked = ts.reduce((s, t) => s + t.resumeChecked, 0);
    if (checked > 0) {
      const failed = Object.values(resumeFailed).reduce((a, b) => a + b, 0);
      notes.push(
        `${mode}: on ${checked} states a resumed run redid the save after restore; ${failed} failed` +
          (failed > 0
            ? ` (${Object.entries(resumeFailed).map(([w, n]) => `${n} × ${w}`).join(', ')}): a ckpt-<step> directory without a manifest (its entries were lost) blocks the step with HF_STEP_EXISTS until gc removes it.`
            : '.'),
      );
    }
  }
  return notes;
}

/** Rebuilds and judges one state of a campaign, from the parameters its violation printed. */
export async function replayPowerlossState(p: {
  shape: string;
  mode: DurabilityMode;
  seed: number;
  maxExhaustiveUnits: number;
  trials: number;
  tornSectors: boolean;
  lostBlockContent: LostBlockContent;
  crashPoint: number;
  subsetIndex: number;
}): Promise<string> {
  // A fresh recording: same ops and sizes, a new nonce and timestamp, so the same state up to those bytes.
  const rec = await recordSave(p.shape, p.mode);
  if (rec === undefined) throw new RangeError(`shape ${p.shape} has no ${p.mode} save`);
  const state = modelFor(rec, p).stateAt(p.crashPoint, p.subsetIndex);
  const tree = formatTree(state.tree);
  const verdict = await rec.judge(state);
  return [`${state.description}`, `verdict: ${JSON.stringify(verdict)}`, 'tree before restore:', tree].join('\n');
}
