/**
 * The power-loss crash model (DESIGN §9; rules R1–R12, docs/CRASH-MODEL.md):
 * from the durable tree before a recorded run and the run's op log, the
 * states a real file system may be left in when power fails right after op
 * k, for every crash point k in 0..n.
 *
 * Contract:
 * - `initial` is taken as fully durable (snapshot it before recording starts).
 * - Every state is named by (seed, crash point, subset index) and rebuilt
 *   exactly by `stateAt`; its `description` says which units were lost.
 * - `states(k)` yields distinct trees only (deduplicated by Merkle digest,
 *   ALICE §3.5); pass one `seen` set to dedupe across crash points too.
 * - Subset 0 of every crash point keeps every unit: the process-kill state
 *   (R9), identical to what the wrapped file system held after op k.
 * - States share unchanged file bytes with the log and with each other; treat
 *   trees as immutable (their `fs` copies on write).
 * The rules live in crash-history.ts (units, barriers), crash-plan.ts
 * (reachability, ordering), crash-state.ts (contents, sizes, tears) and
 * crash-subsets.ts (enumeration).
 */
import { invalidArg } from '../errors.js';
import { CrashHistory, type FileInode, type Unit } from './crash-history.js';
import { buildCrashPlan, type CrashPlan } from './crash-plan.js';
import { applyFileUnits, buildStateTree, describeTear, KEPT, LOST, StateCache, type LostBlockContent } from './crash-state.js';
import { subsetChoices, subsetLabel, subsetSpace, type SubsetOptions, type SubsetSpace } from './crash-subsets.js';
import { MemoryFileSystem } from './memory-file-system.js';
import { treeDigest, type MemoryTree } from './memory-tree.js';
import { describeOp, isBarrierOrRename, type Op, type PwriteOp } from './op-log.js';
import { SeededRandom } from './seeded-random.js';

export interface CrashModelOptions {
  /** Seed of every random choice (random subsets, tears, garbage). Default 0. */
  seed?: number;
  /** Size of a data unit (R2). Default 4096. */
  blockBytes?: number;
  /** Tear granularity inside a unit (R3). Default 512. */
  sectorBytes?: number;
  /** Up to this many pending units, try all 2^n subsets (R11). Default 12. */
  maxExhaustiveUnits?: number;
  /** Seeded random subsets per crash point beyond the exhaustive limit (R11). Default 512. */
  maxRandomSubsets?: number;
  /** Tear kept data units on sector edges in the random subsets (R3). Default false. */
  tornSectors?: boolean;
  /** What a lost data unit leaves (R2): the old bytes (default), zeros, or seeded garbage (paranoid). */
  lostBlockContent?: LostBlockContent;
}

export interface CrashState {
  crashPoint: number;
  subsetIndex: number;
  tree: MemoryTree;
  /** Merkle digest of `tree`. */
  digest: string;
  /** A fresh file system holding `tree` (copy-on-write: restore may write to it). */
  fs: MemoryFileSystem;
  /** Which op the crash followed, how the subset was chosen, which units were lost (or kept). */
  description: string;
}

export interface CrashModelReport {
  crashPoints: number;
  crashPointsExplored: number;
  exhaustiveCrashPoints: number;
  sampledCrashPoints: number;
  maxPendingUnits: number;
  subsetsTried: number;
  statesYielded: number;
  duplicateStates: number;
}

const DESCRIBED_UNITS_MAX = 6;

interface Built {
  tree: MemoryTree;
  digest: string;
  choices: Uint8Array;
}

export class CrashModel {
  private readonly history: CrashHistory;
  private readonly subsetOptions: SubsetOptions;
  private readonly lostBlockContent: LostBlockContent;
  private readonly images = new Map<string, Uint8Array>();
  private plan: { plan: CrashPlan; space: SubsetSpace; cache: StateCache } | undefined;
  private readonly explored = new Set<number>();
  private readonly stats: CrashModelReport;

  constructor(
    initial: MemoryTree | MemoryFileSystem,
    readonly log: readonly Op[],
    options: CrashModelOptions = {},
  ) {
    const blockBytes = options.blockBytes ?? 4096;
    const sectorBytes = options.sectorBytes ?? 512;
    if (!(blockBytes > 0 && sectorBytes > 0 && blockBytes % sectorBytes === 0)) {
      throw invalidArg(`blockBytes (${blockBytes}) must be a positive multiple of sectorBytes (${sectorBytes})`);
    }
    const tree = initial instanceof MemoryFileSystem ? initial.snapshot() : initial;
    this.history = new CrashHistory(tree, log, blockBytes);
    this.subsetOptions = {
      seed: options.seed ?? 0,
      maxExhaustiveUnits: options.maxExhaustiveUnits ?? 12,
      randomSubsetCount: options.maxRandomSubsets ?? 512,
      tornSectors: options.tornSectors ?? false,
      sectorBytes,
    };
    this.lostBlockContent = options.lostBlockContent ?? 'old';
    this.stats = {
      crashPoints: log.length + 1,
      crashPointsExplored: 0,
      exhaustiveCrashPoints: 0,
      sampledCrashPoints: 0,
      maxPendingUnits: 0,
      subsetsTried: 0,
      statesYielded: 0,
      duplicateStates: 0,
    };
  }

  /** Number of crash points: 0 (before any op) through n (after the last). */
  crashPoints(): number {
    return this.log.length + 1;
  }

  /** All crash points, those right after a sync, syncDir or rename first (B3), each group ascending. */
  prioritizedCrashPoints(): number[] {
    const first = this.log.flatMap((op, i) => (isBarrierOrRename(op) ? [i + 1] : []));
    const firstSet = new Set(first);
    const rest = Array.from({ length: this.crashPoints() }, (_, k) => k).filter((k) => !firstSet.has(k));
    return [...first, ...rest];
  }

  pendingUnitCount(crashPoint: number): number {
    return this.planFor(crashPoint).plan.pending.length;
  }

  subsetCount(crashPoint: number): number {
    return this.planFor(crashPoint).space.count;
  }

  /** Distinct states at `crashPoint`; digests already in `seen` are skipped, new ones added. */
  *states(crashPoint: number, options: { seen?: Set<string> } = {}): Generator<CrashState> {
    const { space } = this.planFor(crashPoint);
    const seen = options.seen ?? new Set<string>();
    this.noteExplored(crashPoint);
    for (let i = 0; i < space.count; i++) {
      const built = this.build(crashPoint, i);
      this.stats.subsetsTried++;
      if (seen.has(built.digest)) {
        this.stats.duplicateStates++;
        continue;
      }
      seen.add(built.digest);
      this.stats.statesYielded++;
      yield this.finish(crashPoint, i, built);
    }
  }

  /** Rebuilds one state exactly (no dedupe), e.g. to replay a failure. */
  stateAt(crashPoint: number, subsetIndex: number): CrashState {
    return this.finish(crashPoint, subsetIndex, this.build(crashPoint, subsetIndex));
  }

  /** R9: every completed op persists (the page cache survives a process kill). */
  processKillState(crashPoint: number): CrashState {
    return this.stateAt(crashPoint, 0);
  }

  report(): CrashModelReport {
    return { ...this.stats };
  }

  private noteExplored(crashPoint: number): void {
    if (this.explored.has(crashPoint)) return;
    this.explored.add(crashPoint);
    const { plan, space } = this.planFor(crashPoint);
    this.stats.crashPointsExplored++;
    if (space.exhaustive) this.stats.exhaustiveCrashPoints++;
    else this.stats.sampledCrashPoints++;
    this.stats.maxPendingUnits = Math.max(this.stats.maxPendingUnits, plan.pending.length);
  }

  private planFor(crashPoint: number): { plan: CrashPlan; space: SubsetSpace; cache: StateCache } {
    if (!Number.isInteger(crashPoint) || crashPoint < 0 || crashPoint > this.log.length) {
      throw invalidArg(`crash point ${crashPoint} out of range [0, ${this.log.length}]`);
    }
    if (this.plan?.plan.crashPoint !== crashPoint) {
      const plan = buildCrashPlan(this.history, crashPoint, (file, count) => this.durableImage(file, count));
      this.plan = { plan, space: subsetSpace(plan.pending, this.subsetOptions), cache: new StateCache() };
    }
    return this.plan;
  }

  /** A file's bytes after its first `count` units, all kept; memoised since many crash points share it. */
  private durableImage(file: FileInode, count: number): Uint8Array {
    if (count === 0) return file.base;
    const key = `${file.id}:${count}`;
    let image = this.images.get(key);
    if (image === undefined) {
      const options = { lostBlockContent: 'old' as const, sectorBytes: this.subsetOptions.sectorBytes };
      image = applyFileUnits(file.base, file.units.slice(0, count), () => KEPT, options);
      this.images.set(key, image);
    }
    return image;
  }

  private build(crashPoint: number, subsetIndex: number): Built {
    const { plan, space, cache } = this.planFor(crashPoint);
    const choices = subsetChoices(plan.pending, space, crashPoint, subsetIndex, this.subsetOptions);
    const garbage = this.lostBlockContent === 'garbage' ? new SeededRandom(this.subsetOptions.seed, crashPoint, subsetIndex, 1) : undefined;
    const content = { lostBlockContent: this.lostBlockContent, sectorBytes: this.subsetOptions.sectorBytes, garbage };
    const tree = buildStateTree(plan, choices, content, cache);
    return { tree, digest: treeDigest(tree), choices };
  }

  private finish(crashPoint: number, subsetIndex: number, built: Built): CrashState {
    const { tree, digest, choices } = built;
    const description = this.describe(crashPoint, subsetIndex, choices);
    return { crashPoint, subsetIndex, tree, digest, fs: MemoryFileSystem.fromTree(tree), description };
  }

  private describe(crashPoint: number, subsetIndex: number, choices: Uint8Array): string {
    const { plan, space } = this.planFor(crashPoint);
    const after = crashPoint === 0 ? 'before any op' : `after ${describeOp(this.log[crashPoint - 1]!)}`;
    const head = `seed ${this.subsetOptions.seed} crash point ${crashPoint} (${after}), subset ${subsetIndex}: ${subsetLabel(space, subsetIndex)}`;
    const lost = plan.pending.filter((_, j) => choices[j] === LOST);
    const kept = plan.pending.filter((_, j) => choices[j] === KEPT);
    const torn = plan.pending.filter((_, j) => choices[j]! > KEPT);
    // Name the shorter of the lost and kept lists; tears always.
    const [label, units] = lost.length <= kept.length ? ['lost', lost] : ['kept', kept];
    const tears = torn.length === 0 ? '' : `; torn: ${this.listUnits(torn, choices, plan)}`;
    return `${head}; ${plan.pending.length} pending; ${label}: ${this.listUnits(units, choices, plan)}${tears}`;
  }

  private listUnits(units: readonly Unit[], choices: Uint8Array, plan: CrashPlan): string {
    if (units.length === 0) return 'none';
    const shown = units.slice(0, DESCRIBED_UNITS_MAX).map((u) => this.describeUnit(u, choices[plan.choiceIndex[u.id]!]!));
    const more = units.length > DESCRIBED_UNITS_MAX ? `; … (+${units.length - DESCRIBED_UNITS_MAX})` : '';
    return shown.join('; ') + more;
  }

  private describeUnit(u: Unit, choice: number): string {
    const op = describeOp(this.log[u.opIndex]!);
    if (u.kind === 'entry') return op;
    if (u.kind !== 'data') return `${op} [${u.kind} ${u.sizeBytes}]`;
    const range = `[${u.offset},${u.offset + u.bytes.length})`;
    const tear = choice > KEPT ? ` torn ${describeTear(choice, u, this.subsetOptions.sectorBytes)}` : '';
    return `${op} ${range}${tear}`;
  }
}

/**
 * R9, process kill: the tree after the first `crashPoint` ops, all persisted.
 * With `inFlightPages`, op `crashPoint` (a pwrite) also landed as a prefix of
 * that many whole pages (4096 B, aligned to the file).
 */
export function processKillState(initial: MemoryTree | MemoryFileSystem, log: readonly Op[], crashPoint: number, inFlightPages = 0): MemoryFileSystem {
  const inFlight = log[crashPoint];
  if (inFlightPages <= 0 || inFlight?.kind !== 'pwrite') return new CrashModel(initial, log).processKillState(crashPoint).fs;
  const pageBytes = 4096;
  const end = Math.min(inFlight.offset + inFlight.data.length, (Math.floor(inFlight.offset / pageBytes) + inFlightPages) * pageBytes);
  const partial: PwriteOp = { ...inFlight, data: inFlight.data.subarray(0, Math.max(0, end - inFlight.offset)) };
  return new CrashModel(initial, [...log.slice(0, crashPoint), partial]).processKillState(crashPoint + 1).fs;
}
