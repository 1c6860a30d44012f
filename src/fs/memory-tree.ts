/**
 * An immutable picture of a whole file tree: what `MemoryFileSystem.snapshot()`
 * returns, what `MemoryFileSystem.fromTree()` starts from, and what the crash
 * model builds for each crash state.
 *
 * Contract: nothing mutates a tree once built. File bytes may be shared with a
 * `MemoryFileSystem` (copy-on-write on its side) and between trees, so that
 * hundreds of thousands of crash states cost no byte copies for the files a
 * state does not change. The digest is a Merkle hash, cached per node
 * object, so two states that share subtrees hash only what differs. SHA-256:
 * dedupe needs no more than SHA-1, but with SHA extensions it is the fastest
 * digest in node:crypto (1.7 GB/s vs 1.4 for SHA-1 and 0.7 for MD5, 1 MiB
 * buffers on the 2-core dev VM: `createHash(alg).update(buf).digest()` ×200).
 */
import { createHash } from 'node:crypto';

interface TreeFile {
  readonly type: 'file';
  readonly bytes: Uint8Array;
}

export interface TreeDirectory {
  readonly type: 'directory';
  readonly entries: ReadonlyMap<string, TreeNode>;
}

/** A symlink (dangling: its target is not modelled) or another non-regular file (FIFO, socket…). */
interface TreeSpecial {
  readonly type: 'symlink' | 'other';
}

export type TreeNode = TreeFile | TreeDirectory | TreeSpecial;
/** A tree is its root directory, mounted at `/`. */
export type MemoryTree = TreeDirectory;

const digestCache = new WeakMap<object, string>();

function bytesDigest(bytes: Uint8Array): string {
  let d = digestCache.get(bytes);
  if (d === undefined) {
    d = createHash('sha256').update('file\0').update(bytes).digest('hex');
    digestCache.set(bytes, d);
  }
  return d;
}

/** Merkle digest: equal for trees with the same names, types and bytes (mtimes ignored). */
export function treeDigest(node: TreeNode): string {
  if (node.type === 'file') return bytesDigest(node.bytes);
  if (node.type !== 'directory') return node.type;
  let d = digestCache.get(node);
  if (d === undefined) {
    const h = createHash('sha256').update('dir\0');
    for (const name of sortedNames(node)) h.update(`${name}\0${treeDigest(node.entries.get(name)!)}\n`);
    d = h.digest('hex');
    digestCache.set(node, d);
  }
  return d;
}

export function sortedNames(dir: TreeDirectory): string[] {
  return [...dir.entries.keys()].sort();
}

/** The node at an absolute path, or undefined. */
export function lookupTree(tree: MemoryTree, path: string): TreeNode | undefined {
  let node: TreeNode = tree;
  for (const name of path.split('/')) {
    if (name === '' || name === '.') continue;
    if (node.type !== 'directory') return undefined;
    const next: TreeNode | undefined = node.entries.get(name);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

const PREVIEW_BYTES = 16;

function preview(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, PREVIEW_BYTES)).toString('hex');
  return bytes.length > PREVIEW_BYTES ? `${head}…` : head;
}

/** One line per node, sorted: `/a/` for directories, `/a/f  12 B  sha256:…  6869…` for files. */
export function formatTree(tree: MemoryTree): string {
  const lines: string[] = [];
  const walk = (dir: TreeDirectory, prefix: string): void => {
    for (const name of sortedNames(dir)) {
      const node = dir.entries.get(name)!;
      const p = `${prefix}/${name}`;
      if (node.type === 'directory') {
        lines.push(`${p}/`);
        walk(node, p);
      } else if (node.type === 'file') {
        lines.push(`${p}  ${node.bytes.length} B  sha256:${bytesDigest(node.bytes).slice(0, 12)}  ${preview(node.bytes)}`);
      } else {
        lines.push(`${p}  (${node.type})`);
      }
    }
  };
  walk(tree, '');
  return lines.length === 0 ? '(empty)' : lines.join('\n');
}

/** Test fixtures: a string or bytes is a file, a nested object a directory, `{ [SPECIAL]: 'symlink' }` a special file. */
export interface TreeSpec {
  [name: string]: string | Uint8Array | TreeSpec | SpecialSpec;
}
export const SPECIAL: unique symbol = Symbol('special');
interface SpecialSpec {
  [SPECIAL]: 'symlink' | 'other';
}

export function treeFromSpec(spec: TreeSpec): MemoryTree {
  const entries = new Map<string, TreeNode>();
  for (const [name, value] of Object.entries(spec)) {
    if (typeof value === 'string') entries.set(name, { type: 'file', bytes: new TextEncoder().encode(value) });
    else if (value instanceof Uint8Array) entries.set(name, { type: 'file', bytes: value });
    else if (SPECIAL in value) entries.set(name, { type: (value as SpecialSpec)[SPECIAL] });
    else entries.set(name, treeFromSpec(value as TreeSpec));
  }
  return { type: 'directory', entries };
}
