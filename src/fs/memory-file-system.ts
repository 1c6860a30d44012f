/**
 * A complete POSIX-like file tree in memory, for tests and for the crash
 * model's states (LevelDB helpers/memenv). Same contract as `PosixFileSystem`
 * on Linux, error for error (EEXIST, ENOENT → HF_NOT_FOUND, ENOTDIR, EISDIR,
 * ENOTEMPTY, EBADF, …), so code tested here behaves the same on disk.
 *
 * Deliberate limits: symlinks exist only as dangling entries (made by
 * `createSpecial`; paths through them give ENOENT, opening them ELOOP, as
 * O_NOFOLLOW does); other special files refuse to open with the HF_IO
 * "is a special file …, expected a regular file" that `PosixFileSystem` gives
 * a FIFO, socket or device. Syncs succeed and do nothing: everything here is
 * "durable"; power loss is the crash model's business. `..` is resolved
 * lexically, which is exact because no symlink is ever followed.
 * O_DIRECT handles check that offsets and lengths are aligned (EINVAL).
 */
import { describeEntryType, type FileHandle, type FileStat, type FileSystem, type OpenMode, type OpenOptions } from './file-system.js';
import { errnoError } from './fs-errors.js';
import { notRegularFileError } from './posix-file-system.js';
import { formatTree, treeDigest, type MemoryTree } from './memory-tree.js';
import { MemoryDirectory, MemoryFile, MemorySpecial, directoryFromTree, directoryToTree, type MemoryNode } from './memory-nodes.js';

const DIRECT_IO_ALIGN_BYTES = 4096;

interface Located {
  /** Undefined only for the root itself. */
  parent: MemoryDirectory | undefined;
  name: string;
  node: MemoryNode | undefined;
}

function pathParts(syscall: string, path: string): string[] {
  if (!path.startsWith('/')) throw errnoError(syscall, path, 'EINVAL');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts;
}

function statOf(node: MemoryNode): FileStat {
  return { type: node.type, sizeBytes: node.type === 'file' ? node.sizeBytes : 0, mtimeMs: node.mtimeMs };
}

function checkPosition(syscall: string, path: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw errnoError(syscall, path, 'EINVAL');
}

export class MemoryFileSystem implements FileSystem {
  readonly name = 'memory';
  readonly directIoAlignBytes = DIRECT_IO_ALIGN_BYTES;
  private root: MemoryDirectory;

  constructor() {
    this.root = new MemoryDirectory();
  }

  /** A file system holding `tree`; no bytes are copied until something writes. */
  static fromTree(tree: MemoryTree): MemoryFileSystem {
    const fs = new MemoryFileSystem();
    fs.root = directoryFromTree(tree, Date.now());
    return fs;
  }

  /** The whole tree as it is now; later changes here do not show in it. */
  snapshot(): MemoryTree {
    return directoryToTree(this.root);
  }

  clone(): MemoryFileSystem {
    return MemoryFileSystem.fromTree(this.snapshot());
  }

  /** Merkle digest of the tree (names, types, bytes): equal digests mean equal trees. */
  digest(): string {
    return treeDigest(this.snapshot());
  }

  /** A readable listing for test failures: one line per entry with size and content hash. */
  dump(): string {
    return formatTree(this.snapshot());
  }

  /** Plants a symlink or other special file (corruption class C7). */
  async createSpecial(path: string, type: 'symlink' | 'other'): Promise<void> {
    const at = this.locate('symlink', path);
    if (at.node !== undefined) throw errnoError('symlink', path, 'EEXIST');
    at.parent!.entries.set(at.name, new MemorySpecial(type));
    at.parent!.touch();
  }

  private walk(syscall: string, path: string, parts: readonly string[]): MemoryDirectory {
    let dir = this.root;
    for (const name of parts) {
      const next = dir.entries.get(name);
      // A symlink in the middle would be followed; ours are dangling, hence ENOENT.
      if (next === undefined || next.type === 'symlink') throw errnoError(syscall, path, 'ENOENT');
      if (next.type !== 'directory') throw errnoError(syscall, path, 'ENOTDIR');
      dir = next;
    }
    return dir;
  }

  private locate(syscall: string, path: string, errorPath = path): Located {
    const parts = pathParts(syscall, path);
    if (parts.length === 0) return { parent: undefined, name: '', node: this.root };
    const parent = this.walk(syscall, errorPath, parts.slice(0, -1));
    const name = parts[parts.length - 1]!;
    return { parent, name, node: parent.entries.get(name) };
  }

  private existing(syscall: string, path: string): MemoryNode {
    const { node } = this.locate(syscall, path);
    if (node === undefined) throw errnoError(syscall, path, 'ENOENT');
    return node;
  }

  async open(path: string, mode: OpenMode, options: OpenOptions = {}): Promise<FileHandle> {
    const direct = options.direct === true;
    const at = this.locate('open', path);
    if (mode === 'create' || (mode === 'append' && at.node === undefined)) {
      if (at.node !== undefined) throw errnoError('open', path, 'EEXIST');
      const file = MemoryFile.empty();
      at.parent!.entries.set(at.name, file);
      at.parent!.touch();
      return new MemoryFileHandle(path, file, mode, direct);
    }
    const node = at.node;
    if (node === undefined) throw errnoError('open', path, 'ENOENT');
    if (node instanceof MemorySpecial) {
      throw node.type === 'symlink' ? errnoError('open', path, 'ELOOP') : notRegularFileError('open', path, describeEntryType(node.type));
    }
    // Linux lets O_RDONLY open a directory (reads then fail with EISDIR) but not O_WRONLY.
    if (node.type === 'directory' && (mode === 'write' || mode === 'append')) throw errnoError('open', path, 'EISDIR');
    return new MemoryFileHandle(path, node, mode, direct);
  }

  async mkdir(path: string): Promise<void> {
    const at = this.locate('mkdir', path);
    if (at.node !== undefined) throw errnoError('mkdir', path, 'EEXIST');
    at.parent!.entries.set(at.name, new MemoryDirectory());
    at.parent!.touch();
  }

  async readdir(path: string): Promise<string[]> {
    const node = this.existing('readdir', path);
    if (node.type !== 'directory') throw errnoError('readdir', path, 'ENOTDIR');
    return [...node.entries.keys()].sort();
  }

  async stat(path: string): Promise<FileStat> {
    return statOf(this.existing('lstat', path));
  }

  async rename(from: string, to: string): Promise<void> {
    const label = `${from} -> ${to}`;
    const src = this.locate('rename', from, label);
    if (src.node === undefined) throw errnoError('rename', label, 'ENOENT');
    const dst = this.locate('rename', to, label);
    if (src.parent === undefined || dst.parent === undefined) throw errnoError('rename', label, 'EBUSY');
    if (src.node === dst.node) return; // same inode: rename(2) does nothing
    this.checkRenameTarget(label, src.node, dst.node, pathParts('rename', from), pathParts('rename', to));
    src.parent.entries.delete(src.name);
    dst.parent.entries.set(dst.name, src.node);
    src.parent.touch();
    dst.parent.touch();
  }

  private checkRenameTarget(label: string, moving: MemoryNode, target: MemoryNode | undefined, fromParts: string[], toParts: string[]): void {
    const isDir = moving.type === 'directory';
    if (isDir && toParts.length > fromParts.length && fromParts.every((p, i) => toParts[i] === p)) {
      throw errnoError('rename', label, 'EINVAL'); // a directory cannot move inside itself
    }
    if (target === undefined) return;
    if (!isDir && target.type === 'directory') throw errnoError('rename', label, 'EISDIR');
    if (isDir && target.type !== 'directory') throw errnoError('rename', label, 'ENOTDIR');
    if (target.type === 'directory' && target.entries.size > 0) throw errnoError('rename', label, 'ENOTEMPTY');
  }

  async unlink(path: string): Promise<void> {
    const at = this.locate('unlink', path);
    if (at.node === undefined) throw errnoError('unlink', path, 'ENOENT');
    if (at.node.type === 'directory') throw errnoError('unlink', path, 'EISDIR');
    at.parent!.entries.delete(at.name);
    at.parent!.touch();
  }

  async rmdir(path: string): Promise<void> {
    const at = this.locate('rmdir', path);
    if (at.node === undefined) throw errnoError('rmdir', path, 'ENOENT');
    if (at.node.type !== 'directory') throw errnoError('rmdir', path, 'ENOTDIR');
    if (at.parent === undefined) throw errnoError('rmdir', path, 'EBUSY');
    if (at.node.entries.size > 0) throw errnoError('rmdir', path, 'ENOTEMPTY');
    at.parent.entries.delete(at.name);
    at.parent.touch();
  }

  async syncDir(path: string): Promise<void> {
    const node = this.existing('open', path);
    if (node.type !== 'directory') throw errnoError('open', path, 'ENOTDIR');
  }
}

/** A handle pins its inode, as an fd does: it keeps working after rename or unlink. */
class MemoryFileHandle implements FileHandle {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly node: MemoryFile | MemoryDirectory,
    private readonly mode: OpenMode,
    private readonly direct: boolean,
  ) {}

  private live(syscall: string): void {
    if (this.closed) throw errnoError(syscall, this.path, 'EBADF');
  }

  private checkDirect(syscall: string, position: number, lengthBytes: number): void {
    if (this.direct && (position % DIRECT_IO_ALIGN_BYTES !== 0 || lengthBytes % DIRECT_IO_ALIGN_BYTES !== 0)) {
      throw errnoError(syscall, this.path, 'EINVAL');
    }
  }

  async pwrite(data: Uint8Array, position: number): Promise<void> {
    this.live('pwrite');
    if (this.mode === 'read') throw errnoError('pwrite', this.path, 'EBADF');
    checkPosition('pwrite', this.path, position);
    this.checkDirect('pwrite', position, data.byteLength);
    const file = this.node as MemoryFile;
    file.write(data, this.mode === 'append' ? file.sizeBytes : position);
  }

  async pread(into: Uint8Array, position: number, length = into.byteLength): Promise<number> {
    this.live('pread');
    if (this.mode !== 'read') throw errnoError('pread', this.path, 'EBADF');
    if (this.node.type === 'directory') throw errnoError('pread', this.path, 'EISDIR');
    checkPosition('pread', this.path, position);
    if (length > into.byteLength) throw errnoError('pread', this.path, 'EINVAL');
    this.checkDirect('pread', position, length);
    return this.node.read(into, position, length);
  }

  async truncate(sizeBytes: number): Promise<void> {
    this.live('ftruncate');
    if (this.mode === 'read') throw errnoError('ftruncate', this.path, 'EINVAL');
    checkPosition('ftruncate', this.path, sizeBytes);
    (this.node as MemoryFile).truncate(sizeBytes);
  }

  async sync(): Promise<void> {
    this.live('fsync');
  }

  async datasync(): Promise<void> {
    this.live('fdatasync');
  }

  async stat(): Promise<FileStat> {
    this.live('fstat');
    return statOf(this.node);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
