/**
 * What a power loss right after op k can leave behind, before choosing which
 * pending units survive: per directory, the durable entries plus the tail of
 * entry effects to replay; per file, the durable image plus its pending units;
 * and the list of pending units that can matter, whose order is the index of
 * the choice vector (`crash-subsets.ts`).
 *
 * Rules implemented here (ids: docs/CRASH-MODEL.md):
 * - R5/R7 with ordering kept: a directory's effects are replayed in log order,
 *   durable ones always, pending ones if kept. So a durable unlink after a
 *   pending rename into the same directory still wins when the rename is kept.
 * - R6: only inodes reachable from the root in *some* state are considered;
 *   units of anything else (a file under a durably removed directory, a temp
 *   file already unlinked for good) are dropped, so they do not blow up the
 *   subset count.
 * - Invariant subtrees (no pending unit anywhere below) are marked, so every
 *   state shares their tree nodes and their digests.
 */
import { ROOT_INODE, type CrashHistory, type DirInode, type EntryEffect, type FileInode, type FileUnit, type Unit } from './crash-history.js';

interface DirPlan {
  /** Entries after every effect before the first pending one. */
  base: ReadonlyMap<string, number>;
  /** Effects from the first pending one on (durable and pending), in log order. */
  tail: readonly EntryEffect[];
}

interface FilePlan {
  durable: Uint8Array;
  pending: readonly FileUnit[];
}

export interface CrashPlan {
  crashPoint: number;
  history: CrashHistory;
  /** Pending units that some state can observe, in log order; a state's choice vector is indexed like this. */
  pending: readonly Unit[];
  /** Choice index of each unit id, or -1. */
  choiceIndex: Int32Array;
  dirs: ReadonlyMap<number, DirPlan>;
  files: ReadonlyMap<number, FilePlan>;
  /** Inodes whose subtree is the same in every state of this crash point. */
  invariant: ReadonlySet<number>;
}

export function applyEffect(entries: Map<string, number>, e: EntryEffect): void {
  if (e.action === 'set') entries.set(e.name, e.inode);
  else if (entries.get(e.name) === e.inode) entries.delete(e.name);
}

function dirPlan(dir: DirInode, k: number): DirPlan {
  const base = new Map(dir.base);
  let i = 0;
  for (; i < dir.effects.length; i++) {
    const e = dir.effects[i]!;
    if (e.unit.opIndex >= k || e.unit.durableAt >= k) break;
    applyEffect(base, e);
  }
  const tail: EntryEffect[] = [];
  for (; i < dir.effects.length && dir.effects[i]!.unit.opIndex < k; i++) tail.push(dir.effects[i]!);
  return { base, tail };
}

/** Directory plans for every directory reachable in some state (BFS over base entries and every `set` in tails). */
function reachableDirs(history: CrashHistory, k: number): { dirs: Map<number, DirPlan>; reachable: Set<number> } {
  const dirs = new Map<number, DirPlan>();
  const reachable = new Set<number>([ROOT_INODE]);
  const queue = [ROOT_INODE];
  while (queue.length > 0) {
    const id = queue.pop()!;
    const inode = history.inodes[id]!;
    if (inode.kind !== 'directory') continue;
    const plan = dirPlan(inode, k);
    dirs.set(id, plan);
    const children = [...plan.base.values(), ...plan.tail.filter((e) => e.action === 'set').map((e) => e.inode)];
    for (const child of children) {
      if (!reachable.has(child)) {
        reachable.add(child);
        queue.push(child);
      }
    }
  }
  return { dirs, reachable };
}

function filePlan(file: FileInode, k: number, durableImage: DurableImages): FilePlan {
  let durableCount = 0;
  while (durableCount < file.units.length && file.units[durableCount]!.durableAt < k) durableCount++;
  let end = durableCount;
  while (end < file.units.length && file.units[end]!.opIndex < k) end++;
  return { durable: durableImage(file, durableCount), pending: file.units.slice(durableCount, end) };
}

/** Memoised durable image of a file after its first `count` units, all kept. */
type DurableImages = (file: FileInode, count: number) => Uint8Array;

function isPending(u: Unit, k: number): boolean {
  return u.opIndex < k && u.durableAt >= k;
}

export function buildCrashPlan(history: CrashHistory, k: number, durableImage: DurableImages): CrashPlan {
  const { dirs, reachable } = reachableDirs(history, k);
  const files = new Map<number, FilePlan>();
  for (const id of reachable) {
    const inode = history.inodes[id]!;
    if (inode.kind === 'file') files.set(id, filePlan(inode, k, durableImage));
  }
  const pending: Unit[] = [];
  const choiceIndex = new Int32Array(history.units.length).fill(-1);
  for (const u of history.units) {
    if (u.opIndex >= k) break;
    if (!isPending(u, k)) continue;
    const observable = u.kind === 'entry' ? u.effects.some((e) => dirs.has(e.dir)) : files.has(u.inode);
    if (observable) choiceIndex[u.id] = pending.push(u) - 1;
  }
  return { crashPoint: k, history, pending, choiceIndex, dirs, files, invariant: invariantInodes(history, dirs, files) };
}

function invariantInodes(history: CrashHistory, dirs: Map<number, DirPlan>, files: Map<number, FilePlan>): Set<number> {
  const invariant = new Set<number>();
  const state = new Map<number, boolean>();
  const visit = (id: number): boolean => {
    const known = state.get(id);
    if (known !== undefined) return known;
    state.set(id, false); // a cycle (only possible through pending renames) is not invariant
    const inode = history.inodes[id]!;
    let result = true;
    if (inode.kind === 'file') result = files.get(id)!.pending.length === 0;
    else if (inode.kind === 'directory') {
      const plan = dirs.get(id)!;
      result = plan.tail.length === 0;
      for (const child of plan.base.values()) result = visit(child) && result;
      for (const e of plan.tail) if (e.action === 'set') visit(e.inode); // cacheable even where the link varies
    }
    state.set(id, result);
    if (result) invariant.add(id);
    return result;
  };
  visit(ROOT_INODE);
  return invariant;
}
