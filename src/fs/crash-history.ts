/**
 * One pass over an op log that turns every mutating op into *units* (the
 * things a power loss can keep or lose; rule ids R…: docs/CRASH-MODEL.md) and notes, for each
 * unit, the op after which it is durable. A crash point k then needs no
 * replay: a unit exists iff `opIndex < k` and is durable iff `durableAt < k`.
 *
 * Rules implemented here:
 * - R2: a pwrite becomes one data unit per `blockBytes` block of the file it
 *   touches; a pwrite that grows the file adds a size unit (R4: the visible
 *   size is the last kept size change). A truncate is one unit (R4).
 * - R1: fsync/fdatasync of a file makes all its units issued before the sync
 *   durable; never its name. Since syncs cover everything earlier, a file's
 *   durable units are always a prefix of its units.
 * - R5: create, mkdir, unlink, rmdir and rename are entry units, pending in
 *   every directory they touch; a rename between two directories is one
 *   atomic unit, durable once both have been synced after it.
 * - R10: after a failed sync of a file or directory its pending units stay
 *   undetermined forever: later syncs of that inode are not barriers.
 * Inodes are numbered: the initial tree depth-first (root = 0), then in
 * creation order, so numbers are stable across runs of the same log.
 */
import { posix } from 'node:path';
import { invalidArg } from '../errors.js';
import { sortedNames, type MemoryTree, type TreeNode } from './memory-tree.js';
import { describeOp, type Op } from './op-log.js';

const NEVER = Number.POSITIVE_INFINITY;

interface UnitBase {
  /** Position in `CrashHistory.units` (log order). */
  id: number;
  opIndex: number;
  /** Index of the op after which this unit is durable; `NEVER` if none. */
  durableAt: number;
}

export interface DataUnit extends UnitBase {
  kind: 'data';
  inode: number;
  offset: number;
  bytes: Uint8Array;
}

interface SizeUnit extends UnitBase {
  kind: 'size' | 'truncate';
  inode: number;
  sizeBytes: number;
}

interface EntryUnit extends UnitBase {
  kind: 'entry';
  parents: number[];
  syncedParents: number[];
  effects: EntryEffect[];
}

export type FileUnit = DataUnit | SizeUnit;
export type Unit = FileUnit | EntryUnit;

/** One directory's part of an entry unit. Removal is by inode: it only drops `name` if it still names `inode`. */
export interface EntryEffect {
  unit: EntryUnit;
  dir: number;
  action: 'set' | 'remove';
  name: string;
  inode: number;
}

export interface FileInode {
  kind: 'file';
  id: number;
  base: Uint8Array;
  units: FileUnit[];
  liveSizeBytes: number;
  firstPending: number;
  poisoned: boolean;
}

export interface DirInode {
  kind: 'directory';
  base: ReadonlyMap<string, number>;
  effects: EntryEffect[];
  live: Map<string, number>;
  pendingEntries: EntryUnit[];
  poisoned: boolean;
}

type Inode = FileInode | DirInode | { kind: 'symlink' | 'other' };

export const ROOT_INODE = 0;

export class CrashHistory {
  readonly inodes: Inode[] = [];
  readonly units: Unit[] = [];

  constructor(
    initial: MemoryTree,
    private readonly log: readonly Op[],
    private readonly blockBytes: number,
  ) {
    this.addTree(initial);
    log.forEach((op, i) => this.apply(op, i));
  }

  private addTree(node: TreeNode): number {
    const id = this.inodes.length;
    if (node.type === 'file') this.inodes.push(newFile(id, node.bytes));
    else if (node.type !== 'directory') this.inodes.push({ kind: node.type });
    else {
      const dir = newDir();
      this.inodes.push(dir);
      const base = new Map<string, number>();
      for (const name of sortedNames(node)) base.set(name, this.addTree(node.entries.get(name)!));
      dir.base = base;
      dir.live = new Map(base);
    }
    return id;
  }

  private mismatch(i: number, why: string): Error {
    return invalidArg(`op log does not fit the initial tree at ${describeOp(this.log[i]!)}: ${why}`);
  }

  private lookup(path: string): number | undefined {
    let id = ROOT_INODE;
    for (const name of posix.normalize(path).split('/')) {
      if (name === '' || name === '.') continue;
      const dir = this.inodes[id]!;
      if (dir.kind !== 'directory') return undefined;
      const next = dir.live.get(name);
      if (next === undefined) return undefined;
      id = next;
    }
    return id;
  }

  private parentOf(path: string, i: number): { dirId: number; dir: DirInode; name: string } {
    const normal = posix.normalize(path).replace(/\/+$/, '');
    const cut = normal.lastIndexOf('/');
    const name = normal.slice(cut + 1);
    const dirId = cut < 0 ? undefined : this.lookup(normal.slice(0, cut));
    const dir = dirId === undefined ? undefined : this.inodes[dirId];
    if (dirId === undefined || dir?.kind !== 'directory' || name === '') throw this.mismatch(i, `no parent directory for ${path}`);
    return { dirId, dir, name };
  }

  private existing(path: string, i: number): number {
    const id = this.lookup(path);
    if (id === undefined) throw this.mismatch(i, `${path} does not exist`);
    return id;
  }

  private apply(op: Op, i: number): void {
    if (op.error !== undefined) return this.applyFailed(op, i);
    switch (op.kind) {
      case 'create':
        return this.link(op.path, (id) => newFile(id, new Uint8Array(0)), i);
      case 'mkdir':
        return this.link(op.path, newDir, i);
      case 'pwrite':
        if (!op.orphaned) this.write(this.fileAt(op.path, i), op.offset, op.data, i);
        return;
      case 'truncate':
        if (!op.orphaned) this.truncate(this.fileAt(op.path, i), op.sizeBytes, i);
        return;
      case 'fsync':
      case 'fdatasync':
        if (!op.orphaned) this.sync(this.existing(op.path, i), op.issuedAt ?? i, i);
        return;
      case 'syncDir':
        return this.sync(this.existing(op.path, i), op.issuedAt ?? i, i);
      case 'rename':
        return this.rename(op.from, op.to, i);
      case 'unlink':
      case 'rmdir':
        return this.unlink(op.path, i);
    }
  }

  /** A failed call changed nothing, except a pwrite's possibly-written bytes; a failed sync poisons its inode (R10). */
  private applyFailed(op: Op, i: number): void {
    if (op.kind !== 'pwrite' && op.kind !== 'fsync' && op.kind !== 'fdatasync' && op.kind !== 'syncDir') return;
    if ('orphaned' in op && op.orphaned) return;
    const id = this.lookup(op.path);
    const inode = id === undefined ? undefined : this.inodes[id];
    if (op.kind === 'pwrite') {
      if (inode?.kind === 'file' && op.data.length > 0) this.write(inode, op.offset, op.data, i);
    } else if (inode?.kind === 'file' || inode?.kind === 'directory') {
      inode.poisoned = true;
    }
  }

  private fileAt(path: string, i: number): FileInode {
    const inode = this.inodes[this.existing(path, i)]!;
    if (inode.kind !== 'file') throw this.mismatch(i, `${path} is not a regular file`);
    return inode;
  }

  private addUnit<U extends Unit>(unit: Omit<U, 'id' | 'durableAt'>): U {
    const full = { ...unit, id: this.units.length, durableAt: NEVER } as U;
    this.units.push(full);
    return full;
  }

  private write(file: FileInode, offset: number, data: Uint8Array, i: number): void {
    const inode = file.id;
    const end = offset + data.length;
    for (let start = offset; start < end; ) {
      const stop = Math.min(end, (Math.floor(start / this.blockBytes) + 1) * this.blockBytes);
      const bytes = data.subarray(start - offset, stop - offset);
      file.units.push(this.addUnit<DataUnit>({ kind: 'data', opIndex: i, inode, offset: start, bytes }));
      start = stop;
    }
    if (end > file.liveSizeBytes) {
      file.units.push(this.addUnit<SizeUnit>({ kind: 'size', opIndex: i, inode, sizeBytes: end }));
      file.liveSizeBytes = end;
    }
  }

  private truncate(file: FileInode, sizeBytes: number, i: number): void {
    file.units.push(this.addUnit<SizeUnit>({ kind: 'truncate', opIndex: i, inode: file.id, sizeBytes }));
    file.liveSizeBytes = sizeBytes;
  }

  /** fsync of a file, or of a directory (syncDir, or fsync through a directory handle). */
  private sync(id: number, issuedAt: number, i: number): void {
    const inode = this.inodes[id]!;
    if (inode.kind === 'file' && !inode.poisoned) {
      while (inode.firstPending < inode.units.length && inode.units[inode.firstPending]!.opIndex < issuedAt) {
        inode.units[inode.firstPending++]!.durableAt = i;
      }
    } else if (inode.kind === 'directory' && !inode.poisoned) {
      const later: EntryUnit[] = [];
      for (const unit of inode.pendingEntries) {
        if (unit.opIndex >= issuedAt) later.push(unit);
        else if (unit.syncedParents.push(id) === unit.parents.length) unit.durableAt = i;
      }
      inode.pendingEntries = later;
    }
  }

  private entryUnit(i: number, parents: number[]): EntryUnit {
    const unit = this.addUnit<EntryUnit>({ kind: 'entry', opIndex: i, parents, syncedParents: [], effects: [] });
    for (const p of parents) (this.inodes[p] as DirInode).pendingEntries.push(unit);
    return unit;
  }

  private effect(unit: EntryUnit, dir: number, action: 'set' | 'remove', name: string, inode: number): void {
    const e: EntryEffect = { unit, dir, action, name, inode };
    unit.effects.push(e);
    const d = this.inodes[dir] as DirInode;
    d.effects.push(e);
    if (action === 'set') d.live.set(name, inode);
    else d.live.delete(name);
  }

  private link(path: string, make: (id: number) => Inode, i: number): void {
    const { dirId, name } = this.parentOf(path, i);
    const id = this.inodes.length;
    this.inodes.push(make(id));
    this.effect(this.entryUnit(i, [dirId]), dirId, 'set', name, id);
  }

  private rename(from: string, to: string, i: number): void {
    const src = this.parentOf(from, i);
    const dst = this.parentOf(to, i);
    const id = src.dir.live.get(src.name);
    if (id === undefined) throw this.mismatch(i, `${from} does not exist`);
    if (dst.dir.live.get(dst.name) === id) return; // same inode: rename(2) does nothing
    const unit = this.entryUnit(i, src.dirId === dst.dirId ? [src.dirId] : [src.dirId, dst.dirId]);
    this.effect(unit, src.dirId, 'remove', src.name, id);
    this.effect(unit, dst.dirId, 'set', dst.name, id);
  }

  private unlink(path: string, i: number): void {
    const { dirId, dir, name } = this.parentOf(path, i);
    const id = dir.live.get(name);
    if (id === undefined) throw this.mismatch(i, `${path} does not exist`);
    this.effect(this.entryUnit(i, [dirId]), dirId, 'remove', name, id);
  }
}

function newFile(id: number, base: Uint8Array): FileInode {
  return { kind: 'file', id, base, units: [], liveSizeBytes: base.length, firstPending: 0, poisoned: false };
}

function newDir(): DirInode {
  return { kind: 'directory', base: new Map(), effects: [], live: new Map(), pendingEntries: [], poisoned: false };
}
