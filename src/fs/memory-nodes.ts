/**
 * The inodes of `MemoryFileSystem`: a regular file is a growable byte buffer,
 * a directory a name → inode map, a special file only its type.
 *
 * Contract: a file's bytes past `sizeBytes` are always zero (so growing by
 * pwrite or truncate exposes zeros without clearing). A buffer marked
 * `shared` is also referenced by a `MemoryTree` and must be copied before its
 * first change (copy-on-write), which makes `snapshot()` and `fromTree()`
 * O(inodes), not O(bytes).
 */
import type { MemoryTree, TreeDirectory, TreeNode } from './memory-tree.js';

/** Growth is geometric (amortised O(1) appends) but capped so a 10 GB file does not reserve 20 GB. */
const MAX_GROWTH_BYTES = 256 * 1024 * 1024;
const MIN_CAPACITY_BYTES = 4096;
const EMPTY = new Uint8Array(0);

export class MemoryFile {
  readonly type = 'file';

  constructor(
    private data: Uint8Array,
    public sizeBytes: number,
    private shared: boolean,
    public mtimeMs: number,
  ) {}

  static empty(): MemoryFile {
    return new MemoryFile(EMPTY, 0, true, Date.now());
  }

  /** Makes the buffer private and at least `capacityBytes` long, preserving the zero tail. */
  private prepareWrite(capacityBytes: number): void {
    if (!this.shared && capacityBytes <= this.data.length) return;
    let capacity = this.data.length;
    if (capacityBytes > capacity) {
      capacity = Math.max(capacityBytes, MIN_CAPACITY_BYTES, capacity + Math.min(capacity, MAX_GROWTH_BYTES));
    }
    const next = new Uint8Array(capacity);
    next.set(this.data.subarray(0, this.sizeBytes));
    this.data = next;
    this.shared = false;
  }

  write(bytes: Uint8Array, position: number): void {
    const end = position + bytes.length;
    this.prepareWrite(Math.max(end, this.sizeBytes));
    this.data.set(bytes, position);
    if (end > this.sizeBytes) this.sizeBytes = end;
    this.mtimeMs = Date.now();
  }

  read(into: Uint8Array, position: number, length: number): number {
    const n = Math.max(0, Math.min(length, this.sizeBytes - position));
    if (n > 0) into.set(this.data.subarray(position, position + n));
    return n;
  }

  truncate(sizeBytes: number): void {
    this.prepareWrite(sizeBytes);
    // Keep the invariant: bytes past the size are zero, so a later extension reads zeros.
    if (sizeBytes < this.sizeBytes) this.data.fill(0, sizeBytes, this.sizeBytes);
    this.sizeBytes = sizeBytes;
    this.mtimeMs = Date.now();
  }

  /** The current contents as an immutable view; the buffer becomes shared. */
  freeze(): Uint8Array {
    this.shared = true;
    return this.data.subarray(0, this.sizeBytes);
  }
}

export class MemoryDirectory {
  readonly type = 'directory';
  readonly entries = new Map<string, MemoryNode>();
  mtimeMs = Date.now();

  touch(): void {
    this.mtimeMs = Date.now();
  }
}

export class MemorySpecial {
  constructor(
    readonly type: 'symlink' | 'other',
    public mtimeMs = Date.now(),
  ) {}
}

export type MemoryNode = MemoryFile | MemoryDirectory | MemorySpecial;

function nodeToTree(node: MemoryNode): TreeNode {
  if (node.type === 'file') return { type: 'file', bytes: node.freeze() };
  if (node.type !== 'directory') return { type: node.type };
  return directoryToTree(node);
}

export function directoryToTree(dir: MemoryDirectory): TreeDirectory {
  const entries = new Map<string, TreeNode>();
  for (const [name, child] of dir.entries) entries.set(name, nodeToTree(child));
  return { type: 'directory', entries };
}

function nodeFromTree(node: TreeNode, mtimeMs: number): MemoryNode {
  if (node.type === 'file') return new MemoryFile(node.bytes, node.bytes.length, true, mtimeMs);
  if (node.type !== 'directory') return new MemorySpecial(node.type, mtimeMs);
  return directoryFromTree(node, mtimeMs);
}

export function directoryFromTree(tree: MemoryTree, mtimeMs: number): MemoryDirectory {
  const dir = new MemoryDirectory();
  dir.mtimeMs = mtimeMs;
  for (const [name, child] of tree.entries) dir.entries.set(name, nodeFromTree(child, mtimeMs));
  return dir;
}
