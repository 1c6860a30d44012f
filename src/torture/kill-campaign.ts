/**
 * Campaign 1, process kill (DESIGN §9): per durability mode, a child process
 * saves checkpoints in a loop and is SIGKILLed (kill-plan.ts says when);
 * the parent then looks at what is on disk (kill-inspect.ts), runs
 * `restore()`, and classifies what came back against what the child said it
 * committed, regenerating the expected bytes from (seed, step):
 *
 * - `newest-restored`     the newest step whose `committed` line the parent saw, bit-exact
 * - `in-flight-restored`  a newer step whose save completed but was killed before its line: bit-exact
 * - `older-restored`      bit-exact but older than a step the child reported committed (a lost commit)
 * - `nothing-valid`       HF_NO_VALID_CHECKPOINT although a commit exists
 * - `torn-returned`       restore returned bytes that differ from what was saved at that step
 * - `restore-error`       restore threw something else
 *
 * A store lives across trials (step 0 is saved by the parent first, so every
 * trial has a committed baseline); after each trial the parent runs
 * `gc({keepLast: 2})` and empties `.quarantine/`, so the store stays small.
 * Trials run in `lanes` independent stores at once (default 1).
 */
import { posix as path } from 'node:path';
import { isHoldfastError } from '../errors.js';
import { QUARANTINE_DIR } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { removeTree } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { openStore } from '../store/open-store.js';
import type { DurabilityMode, Store } from '../store/types.js';
import type { CampaignOptions, CampaignResult, CampaignRow, Violation } from './campaign.js';
import { contentDigest, expectedDigest, killContent } from './kill-content.js';
import { inspectAfterKill, isPartialVisible, type DiskLabel } from './kill-inspect.js';
import { describeKillPlan, drawKillPlan, type KillPlan } from './kill-plan.js';
import { KILL_CHILD_PATH, runKillChild, type ChildRun } from './kill-run-child.js';
import { formatKillAfterOp } from './kill-trigger-file-system.js';
import { wilson } from './wilson.js';

type RestoreOutcome = 'newest-restored' | 'in-flight-restored' | 'older-restored' | 'nothing-valid' | 'torn-returned' | 'restore-error';
const RESTORE_OUTCOMES: readonly RestoreOutcome[] = ['newest-restored', 'in-flight-restored', 'older-restored', 'nothing-valid', 'torn-returned', 'restore-error'];

export interface KillTrialRecord {
  campaign: 'kill';
  mode: DurabilityMode;
  trial: number;
  seed: number;
  plan: string;
  /** The child's command line arguments: with `--kill-after` they replay the trial's save sequence exactly. */
  child: string[];
  begun: number[];
  committed: number[];
  /** Bytes of tensor data in the saves that committed during this trial. */
  committedBytes: number;
  endedBy: ChildRun['endedBy'];
  killAfterReadyMs?: number;
  disk: DiskLabel;
  diskDetails: string[];
  outcome: RestoreOutcome;
  restoredStep: number | null;
  newestCommitted: number;
  quarantined: number;
  message?: string;
}

export interface KillCampaignOptions extends CampaignOptions {
  /** Uniform kills land in a window of this many save cycles after the child is ready (default 3). */
  windowCycles?: number;
  /** Independent stores (each with its own child) run at once (default 1). */
  lanes?: number;
  /** Safety timeout per child (default 60 s). */
  childTimeoutMs?: number;
  /** Saves per child before it idles and is killed anyway (default 24): bounds a trial whose kill point comes late. */
  maxSavesPerChild?: number;
  onTrial?: (record: KillTrialRecord) => void;
}

interface ModeTally {
  outcomes: Record<string, number>;
  disk: Record<string, number>;
  plans: Record<string, number>;
  quarantined: number;
  savesCommitted: number;
  bytesCommitted: number;
  killsMidSave: number;
  /** Trials whose planned kill point had not come when the child reached its save cap (killed idle instead). */
  killsAtCap: number;
  noTornLoad: number;
  newestKept: number;
  noPartialVisible: number;
  trials: number;
}

const newTally = (): ModeTally => ({
  outcomes: Object.fromEntries(RESTORE_OUTCOMES.map((o) => [o, 0])),
  disk: {},
  plans: {},
  quarantined: 0,
  savesCommitted: 0,
  bytesCommitted: 0,
  killsMidSave: 0,
  killsAtCap: 0,
  noTornLoad: 0,
  newestKept: 0,
  noPartialVisible: 0,
  trials: 0,
});

/** One store and the parent's memory of it: what the child reported committed, and the digests. */
class KillLane {
  private newestCommitted = 0;
  private nextStep = 1;
  private readonly digests = new Map<number, string>();
  private quarantinedNow = 0;
  /** Moving average of the time between consecutive saves' starts in this lane (ms); sizes the uniform window. */
  private cycleMs = 100;
  private store!: Store;

  constructor(
    private readonly fs: FileSystem,
    readonly root: string,
    private readonly mode: DurabilityMode,
    private readonly seed: number,
  ) {}

  async open(): Promise<void> {
    this.store = await openStore(this.root, {
      fs: this.fs,
      durability: this.mode,
      onEvent: (e) => {
        if (e.type === 'quarantined') this.quarantinedNow += 1;
      },
    });
    // The committed baseline: every trial has at least this to fall back to.
    const c = killContent(this.seed, 0);
    const first = await openStore(this.root, { fs: this.fs, durability: this.mode, shardSizeBytes: c.shardSizeBytes });
    await first.save(0, { tensors: c.tensors, state: c.state });
    this.digests.set(0, contentDigest(c.tensors, c.state));
  }

  childArgs(plan: KillPlan, maxSaves: number): string[] {
    const args = ['--store', this.root, '--mode', this.mode, '--seed', String(this.seed), '--start', String(this.nextStep), '--max-saves', String(maxSaves)];
    if (plan.kind === 'after-op') args.push('--kill-after', formatKillAfterOp(plan.op));
    return args;
  }

  async trial(trial: number, plan: KillPlan, windowCycles: number, timeoutMs: number, maxSaves: number): Promise<KillTrialRecord> {
    const child = this.childArgs(plan, maxSaves);
    const windowMs = Math.min(2000, Math.max(10, windowCycles * this.cycleMs));
    const run = await runKillChild(child, plan, windowMs, timeoutMs);
    for (let i = 1; i < run.begun.length; i++) this.cycleMs = 0.9 * this.cycleMs + 0.1 * (run.begun[i]!.atMs - run.begun[i - 1]!.atMs);
    for (const [step, digest] of run.committed) {
      this.digests.set(step, digest);
      if (step > this.newestCommitted) this.newestCommitted = step;
    }
    const begun = run.begun.map((b) => b.step);
    const disk = await inspectAfterKill(this.fs, this.store, begun);
    this.quarantinedNow = 0;
    const { outcome, restoredStep, message } = await this.classifyRestore(begun);
    const record: KillTrialRecord = {
      campaign: 'kill',
      mode: this.mode,
      trial,
      seed: this.seed,
      plan: describeKillPlan(plan, windowMs),
      child,
      begun,
      committed: [...run.committed.keys()],
      committedBytes: run.begun.filter((b) => run.committed.has(b.step)).reduce((sum, b) => sum + b.bytes, 0),
      endedBy: run.endedBy,
      ...(run.killAfterReadyMs !== undefined ? { killAfterReadyMs: Math.round(run.killAfterReadyMs * 10) / 10 } : {}),
      disk: disk.label,
      diskDetails: disk.details,
      outcome,
      restoredStep,
      newestCommitted: this.newestCommitted,
      quarantined: this.quarantinedNow,
      ...(message !== undefined ? { message } : {}),
    };
    // What restore found is now the truth, even after a violation: later trials are judged from here.
    if (restoredStep !== null && outcome !== 'torn-returned') this.newestCommitted = restoredStep;
    this.nextStep = Math.max(this.nextStep, ...begun.map((s) => s + 1));
    await this.tidy();
    return record;
  }

  private async classifyRestore(begun: number[]): Promise<{ outcome: RestoreOutcome; restoredStep: number | null; message?: string }> {
    let restored;
    try {
      restored = await this.store.restore();
    } catch (e) {
      if (isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) return { outcome: 'nothing-valid', restoredStep: null, message: e.message };
      return { outcome: 'restore-error', restoredStep: null, message: (e as Error).message };
    }
    const step = restored.step;
    const got = contentDigest(restored.tensors, restored.state);
    let want = this.digests.get(step);
    if (want === undefined) {
      want = expectedDigest(this.seed, step);
      this.digests.set(step, want);
    }
    if (got !== want) return { outcome: 'torn-returned', restoredStep: step, message: `step ${step}: restored digest ${got}, saved ${want}` };
    if (step === this.newestCommitted) return { outcome: 'newest-restored', restoredStep: step };
    if (step > this.newestCommitted && begun.includes(step)) return { outcome: 'in-flight-restored', restoredStep: step };
    if (step > this.newestCommitted) return { outcome: 'torn-returned', restoredStep: step, message: `step ${step} was never begun by the child` };
    return { outcome: 'older-restored', restoredStep: step, message: `restored ${step}, but ${this.newestCommitted} was reported committed` };
  }

  /** Keeps the store small: staging, unsafe leftovers and all but two checkpoints go; quarantine is emptied. */
  private async tidy(): Promise<void> {
    await this.store.gc({ keepLast: 2 });
    await removeTree(this.fs, path.join(this.root, QUARANTINE_DIR));
    for (const step of [...this.digests.keys()]) if (step < this.newestCommitted - 16) this.digests.delete(step);
  }
}

function tallyTrial(t: ModeTally, r: KillTrialRecord): void {
  t.trials += 1;
  t.outcomes[r.outcome] = (t.outcomes[r.outcome] ?? 0) + 1;
  t.disk[r.disk] = (t.disk[r.disk] ?? 0) + 1;
  const planKind = r.plan.startsWith('uniform') ? 'uniform' : r.plan.startsWith('kill on') ? 'after-commit' : 'after-op';
  t.plans[planKind] = (t.plans[planKind] ?? 0) + 1;
  t.quarantined += r.quarantined;
  t.savesCommitted += r.committed.length;
  t.bytesCommitted += r.committedBytes;
  if (r.begun.some((s) => !r.committed.includes(s))) t.killsMidSave += 1;
  if (r.endedBy === 'cap' || r.endedBy === 'timeout') t.killsAtCap += 1;
  if (r.outcome !== 'torn-returned' && r.outcome !== 'restore-error') t.noTornLoad += 1;
  if (r.outcome === 'newest-restored' || r.outcome === 'in-flight-restored') t.newestKept += 1;
  if (!isPartialVisible(r.disk)) t.noPartialVisible += 1;
}

function replayOf(o: KillCampaignOptions, r: KillTrialRecord): string {
  return `holdfast torture kill --mode ${r.mode} --seed ${o.seed} --trials ${r.trial + 1} (trial ${r.trial}: ${r.plan}; ` +
    `child alone: node ${KILL_CHILD_PATH} ${r.child.join(' ')})`;
}

function violationsOf(o: KillCampaignOptions, r: KillTrialRecord): Violation[] {
  const out: Violation[] = [];
  const base = { trial: r.trial, seed: o.seed, replay: replayOf(o, r) };
  const what = `${r.plan}; begun ${r.begun.join(',') || '-'}; committed ${r.committed.join(',') || '-'}; on disk: ${r.disk}`;
  if (r.outcome === 'torn-returned' || r.outcome === 'restore-error') {
    out.push({ ...base, group: `${r.mode} · no torn load`, description: `${r.outcome}: ${r.message ?? ''} (${what})` });
  }
  if (r.mode !== 'unsafe' && r.outcome !== 'newest-restored' && r.outcome !== 'in-flight-restored') {
    out.push({ ...base, group: `${r.mode} · newest kept`, description: `${r.outcome}: ${r.message ?? ''} (${what})` });
  }
  if (r.mode !== 'unsafe' && isPartialVisible(r.disk)) {
    out.push({ ...base, group: `${r.mode} · on disk`, description: `partial checkpoint under its final name: ${r.diskDetails.join('; ')} (${what})` });
  }
  return out;
}

function rowsOf(mode: DurabilityMode, t: ModeTally): CampaignRow[] {
  const atomic = mode !== 'unsafe';
  const sideCounts = { 'events:quarantined': t.quarantined, 'kills:mid-save': t.killsMidSave };
  return [
    {
      group: `${mode} · no torn load`,
      mode,
      trials: t.trials,
      outcomes: { ...t.outcomes, ...sideCounts },
      guarantee: wilson(t.noTornLoad, t.trials),
      guaranteeLabel: 'restore returned only bytes identical to what was saved at that step (or nothing)',
      required: true,
    },
    {
      group: `${mode} · newest kept`,
      mode,
      trials: t.trials,
      outcomes: { ...t.outcomes },
      guarantee: wilson(t.newestKept, t.trials),
      guaranteeLabel: 'restore returned the newest committed checkpoint (or the in-flight one, completed), bit-exact',
      required: atomic,
    },
    {
      group: `${mode} · on disk`,
      mode,
      trials: t.trials,
      outcomes: { ...t.disk },
      guarantee: wilson(t.noPartialVisible, t.trials),
      guaranteeLabel: 'no partial checkpoint visible under a final ckpt-* name after the kill',
      required: atomic,
    },
  ];
}

export async function runKillCampaign(options: KillCampaignOptions): Promise<CampaignResult> {
  const started = performance.now();
  const fs = new PosixFileSystem();
  const lanes = Math.max(1, options.lanes ?? 1);
  const windowCycles = options.windowCycles ?? 3;
  const timeoutMs = options.childTimeoutMs ?? 60_000;
  const maxSaves = options.maxSavesPerChild ?? 24;
  const total = options.trials * options.modes.length;
  let done = 0;
  const rows: CampaignRow[] = [];
  const violations: Violation[] = [];
  const counters: Record<string, number> = { trials: total };
  const tallies = new Map<DurabilityMode, ModeTally>();
  for (const [modeIndex, mode] of options.modes.entries()) {
    const tally = newTally();
    tallies.set(mode, tally);
    const laneStores: KillLane[] = [];
    for (let l = 0; l < lanes; l++) {
      const root = path.join(path.resolve(options.workDir), `kill-${mode}-${process.pid}-${Date.now().toString(36)}-${l}`);
      const lane = new KillLane(fs, root, mode, options.seed);
      await lane.open();
      laneStores.push(lane);
    }
    try {
      let next = 0;
      await Promise.all(
        laneStores.map(async (lane) => {
          for (let trial = next++; trial < options.trials; trial = next++) {
            const plan = drawKillPlan(options.seed, modeIndex, trial, mode);
            const record = await lane.trial(trial, plan, windowCycles, timeoutMs, maxSaves);
            tallyTrial(tally, record);
            violations.push(...violationsOf(options, record));
            options.onTrial?.(record);
            done += 1;
            options.onProgress?.(done, total, `kill ${mode} trial ${trial + 1}/${options.trials}`);
          }
        }),
      );
    } finally {
      for (const lane of laneStores) await removeTree(fs, lane.root);
    }
    rows.push(...rowsOf(mode, tally));
    counters[`${mode}.quarantined`] = tally.quarantined;
    counters[`${mode}.savesCommitted`] = tally.savesCommitted;
    counters[`${mode}.mibCommitted`] = Math.round(tally.bytesCommitted / 1048576);
    counters[`${mode}.killsMidSave`] = tally.killsMidSave;
    for (const [k, v] of Object.entries(tally.plans)) counters[`${mode}.plan.${k}`] = v;
    counters[`${mode}.killedAtSaveCap`] = tally.killsAtCap;
  }
  violations.sort((a, b) => a.group.localeCompare(b.group) || a.trial - b.trial);
  return {
    campaign: 'kill',
    seed: options.seed,
    rows,
    violations,
    counters,
    notes: killNotes(tallies),
    durationMs: Math.round(performance.now() - started),
  };
}

function killNotes(tallies: Map<DurabilityMode, ModeTally>): string[] {
  const notes = [
    'Each trial: spawn a child that saves checkpoints in a loop (seeded sizes 16 KiB–40 MiB, 2–4 shard files each), SIGKILL it ' +
      '(uniform delay after start-up, right after a commit line, or the child kills itself right after its n-th fsync/rename/create/…), ' +
      'then inspect the disk and restore().',
    '"newest kept" counts a checkpoint whose save completed but whose commit line never reached the parent (in-flight-restored) as kept: it is complete and bit-exact.',
  ];
  const unsafe = tallies.get('unsafe');
  if (unsafe !== undefined && unsafe.trials > 0) {
    const partial = unsafe.trials - unsafe.noPartialVisible;
    const torn = unsafe.trials - unsafe.noTornLoad;
    const lost = unsafe.trials - unsafe.newestKept;
    notes.push(
      `unsafe writes straight into ckpt-<step> with no staging and no fsync: ${partial} of ${unsafe.trials} kills left a partial checkpoint under ` +
        `its final name (see "unsafe · on disk": incomplete-dir = no manifest yet, torn-manifest = manifest.json created but not yet written). ` +
        (torn === 0
          ? 'Restore never returned one: the manifest is written last, discovery ignores a directory without it, and an empty or cut manifest fails to parse and is quarantined (events:quarantined). '
          : `Restore returned torn data in ${torn} trial(s): a violation, whatever the mode. `) +
        (lost === 0
          ? 'A process kill loses no page cache, so unsafe kept every committed checkpoint here; it is power loss that unsafe does not survive (see the powerloss campaign).'
          : `It lost the newest committed checkpoint in ${lost} trial(s).`),
    );
  }
  return notes;
}
