/**
 * Builds the file tree of one crash state from a crash plan and a choice per
 * pending unit (rule ids R…: docs/CRASH-MODEL.md): LOST, KEPT, or (R3) a tear that keeps only the head or the
 * tail of a data unit, cut at a sector edge.
 *
 * Rules implemented here:
 * - R2: a lost data unit leaves the old content (default), zeros, or seeded
 *   garbage (`lostBlockContent`).
 * - R4: the size is the last kept size change (or the durable size); bytes
 *   past the persisted data read as zeros; a kept truncate drops the bytes
 *   past its size, so a later extension reads zeros.
 * - R6: only what is reachable from the root appears. A directory linked
 *   twice (possible only by keeping an odd mix of pending renames) keeps its
 *   first link in traversal order, as a tree must.
 * Files and subtrees that no choice can change are shared, not copied.
 */
import type { DataUnit, FileUnit } from './crash-history.js';
import { ROOT_INODE } from './crash-history.js';
import { applyEffect, type CrashPlan } from './crash-plan.js';
import type { MemoryTree, TreeNode } from './memory-tree.js';
import type { SeededRandom } from './seeded-random.js';

export const LOST = 0;
export const KEPT = 1;
const FIRST_TEAR = 2;

export type LostBlockContent = 'old' | 'zeros' | 'garbage';

interface StateContentOptions {
  lostBlockContent: LostBlockContent;
  sectorBytes: number;
  /** Source of garbage bytes when `lostBlockContent` is `garbage`. */
  garbage?: SeededRandom;
}

/** Sector edges strictly inside a data unit: where R3 may tear it. */
export function tearEdges(unit: DataUnit, sectorBytes: number): number[] {
  const edges: number[] = [];
  const end = unit.offset + unit.bytes.length;
  for (let e = (Math.floor(unit.offset / sectorBytes) + 1) * sectorBytes; e < end; e += sectorBytes) edges.push(e);
  return edges;
}

export function tearChoice(edgeIndex: number, keepTail: boolean): number {
  return FIRST_TEAR + 2 * edgeIndex + (keepTail ? 1 : 0);
}

export function describeTear(choice: number, unit: DataUnit, sectorBytes: number): string {
  const edge = tearEdges(unit, sectorBytes)[(choice - FIRST_TEAR) >> 1];
  return (choice - FIRST_TEAR) % 2 === 1 ? `tail from ${edge}` : `head to ${edge}`;
}

function applyLost(buf: Uint8Array, from: number, to: number, o: StateContentOptions): void {
  if (o.lostBlockContent === 'zeros') buf.fill(0, from, to);
  else if (o.lostBlockContent === 'garbage') o.garbage!.fillBytes(buf.subarray(from, to));
}

function applyData(buf: Uint8Array, u: DataUnit, choice: number, o: StateContentOptions): void {
  const end = u.offset + u.bytes.length;
  if (choice === KEPT) return void buf.set(u.bytes, u.offset);
  if (choice === LOST) return applyLost(buf, u.offset, end, o);
  const edge = tearEdges(u, o.sectorBytes)[(choice - FIRST_TEAR) >> 1]!;
  const cut = edge - u.offset;
  if ((choice - FIRST_TEAR) % 2 === 1) {
    buf.set(u.bytes.subarray(cut), edge);
    applyLost(buf, u.offset, edge, o);
  } else {
    buf.set(u.bytes.subarray(0, cut), u.offset);
    applyLost(buf, edge, end, o);
  }
}

/** The file's bytes: its durable image with `units` applied in log order, each as `choiceOf` says. */
export function applyFileUnits(durable: Uint8Array, units: readonly FileUnit[], choiceOf: (u: FileUnit) => number, o: StateContentOptions): Uint8Array {
  let capacity = durable.length;
  for (const u of units) capacity = Math.max(capacity, u.kind === 'data' ? u.offset + u.bytes.length : u.sizeBytes);
  const buf = new Uint8Array(capacity);
  buf.set(durable);
  let size = durable.length;
  for (const u of units) {
    const choice = choiceOf(u);
    if (u.kind === 'data') applyData(buf, u, choice, o);
    else if (choice !== LOST) {
      if (u.kind === 'truncate') buf.fill(0, u.sizeBytes);
      size = u.sizeBytes;
    }
  }
  return size === capacity ? buf : buf.subarray(0, size);
}

/**
 * What states of one crash point can share: nodes of invariant subtrees, and
 * file contents per choice pattern (the "each unit alone lost" states change
 * one file and repeat every other file's pattern).
 */
export class StateCache {
  readonly nodes = new Map<number, TreeNode>();
  private readonly files = new Map<string, Uint8Array>();

  file(key: string, make: () => Uint8Array): Uint8Array {
    let bytes = this.files.get(key);
    if (bytes === undefined) {
      // Bounded so a long random sweep over big files cannot hold every variant.
      if (this.files.size >= FILE_CACHE_ENTRIES_MAX) this.files.clear();
      bytes = make();
      this.files.set(key, bytes);
    }
    return bytes;
  }
}

const FILE_CACHE_ENTRIES_MAX = 256;

function fileBytes(plan: CrashPlan, id: number, choices: Uint8Array, o: StateContentOptions, cache: StateCache): Uint8Array {
  const file = plan.files.get(id)!;
  const choiceOf = (u: FileUnit): number => choices[plan.choiceIndex[u.id]!]!;
  if (file.pending.length === 0) return file.durable;
  if (o.lostBlockContent === 'old' && file.pending.every((u) => choiceOf(u) === LOST)) return file.durable;
  if (o.lostBlockContent === 'garbage') return applyFileUnits(file.durable, file.pending, choiceOf, o);
  const key = `${id}:${file.pending.map(choiceOf).join(',')}`;
  return cache.file(key, () => applyFileUnits(file.durable, file.pending, choiceOf, o));
}

function dirEntries(plan: CrashPlan, id: number, choices: Uint8Array): ReadonlyMap<string, number> {
  const { base, tail } = plan.dirs.get(id)!;
  if (tail.length === 0) return base;
  const entries = new Map(base);
  for (const e of tail) {
    const durable = e.unit.durableAt < plan.crashPoint;
    if (durable || choices[plan.choiceIndex[e.unit.id]!] !== LOST) applyEffect(entries, e);
  }
  return entries;
}

/** The tree of one state. Pass one `cache` for all states of a plan, so they share nodes, bytes and digests. */
export function buildStateTree(plan: CrashPlan, choices: Uint8Array, o: StateContentOptions, cache: StateCache): MemoryTree {
  const visitedDirs = new Set<number>();
  const build = (id: number): TreeNode | undefined => {
    const inode = plan.history.inodes[id]!;
    if (inode.kind === 'directory') {
      if (visitedDirs.has(id)) return undefined;
      visitedDirs.add(id);
    }
    const cached = cache.nodes.get(id);
    if (cached !== undefined) return cached;
    let node: TreeNode;
    if (inode.kind === 'file') node = { type: 'file', bytes: fileBytes(plan, id, choices, o, cache) };
    else if (inode.kind !== 'directory') node = { type: inode.kind };
    else {
      const entries = new Map<string, TreeNode>();
      for (const [name, child] of dirEntries(plan, id, choices)) {
        const n = build(child);
        if (n !== undefined) entries.set(name, n);
      }
      node = { type: 'directory', entries };
    }
    if (plan.invariant.has(id)) cache.nodes.set(id, node);
    return node;
  };
  return build(ROOT_INODE) as MemoryTree;
}
