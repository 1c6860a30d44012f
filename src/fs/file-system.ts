/**
 * The storage seam (DESIGN §3). Every byte Holdfast reads or writes goes
 * through this interface, so the same engine runs on the real disk
 * (`PosixFileSystem`), in memory (`MemoryFileSystem`), and under the
 * recording/crash-model and fault-injecting twins used by the torture tests.
 *
 * Paths are absolute POSIX paths. Operations are deliberately the syscalls
 * themselves (no recursive helpers, no implicit syncs): durability decisions
 * belong to the commit layer, which must be able to say exactly which fsync
 * makes which change durable.
 *
 * Errors: implementations throw `HoldfastError` with code `HF_IO` (or
 * `HF_NOT_FOUND` for ENOENT), carrying the path and the errno code in
 * `data.errno`.
 */

/** `other` is anything else lstat can report: a FIFO, socket or device. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

const ENTRY_TYPE_PHRASES: Record<EntryType, string> = {
  file: 'a regular file',
  directory: 'a directory',
  symlink: 'a symbolic link',
  other: 'a special file (a FIFO, socket or device)',
};

/**
 * The type as a phrase that completes "is …" or "found …" in a message:
 * "is a directory", "found a special file (a FIFO, socket or device)".
 */
export function describeEntryType(type: EntryType): string {
  return ENTRY_TYPE_PHRASES[type];
}

export interface FileStat {
  type: EntryType;
  sizeBytes: number;
  mtimeMs: number;
  /** Permission bits with setuid/setgid/sticky (`st_mode & 0o7777`), where the file system has them. */
  mode?: number;
}

/**
 * How to open a file:
 * - `read`: read only; refuses symlinks (O_NOFOLLOW) so a planted link cannot
 *   redirect verification.
 * - `create`: write only, must not exist (O_CREAT|O_EXCL), mode 0600 unless configured.
 * - `write`: write only, existing file (used by fault injection and tests).
 * - `append`: write only, created (0600) if missing, every write lands at the
 *   end whatever its position (O_APPEND): lines of several processes never
 *   overwrite each other (the audit log).
 * Opening never blocks: a FIFO, socket or device is refused with HF_IO
 * "open <path>: is a FIFO, expected a regular file" (`data.found`).
 */
export type OpenMode = 'read' | 'create' | 'write' | 'append';

export interface OpenOptions {
  /** O_DIRECT: buffers, offsets and lengths must be aligned to `directIoAlignBytes`. */
  direct?: boolean;
}

export interface FileHandle {
  readonly path: string;
  /** Writes all of `data` at `position` (loops over short writes). */
  pwrite(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `length` bytes (default: `into.byteLength`) at `position`; returns bytes read (0 at EOF). */
  pread(into: Uint8Array, position: number, length?: number): Promise<number>;
  truncate(sizeBytes: number): Promise<void>;
  /** fsync(2): data and metadata of this inode. Never makes the file's name durable. */
  sync(): Promise<void>;
  /** fdatasync(2): data plus the metadata needed to read it back (size). */
  datasync(): Promise<void>;
  stat(): Promise<FileStat>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** A short name for reports: `posix`, `memory`, `recording(posix)`, … */
  readonly name: string;
  /** Alignment required of O_DIRECT buffers, offsets and lengths. */
  readonly directIoAlignBytes: number;
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle>;
  /** mkdir(2), not recursive; mode 0700 unless configured. Throws if it exists. */
  mkdir(path: string): Promise<void>;
  /** Entry names, sorted, without `.` and `..`. */
  readdir(path: string): Promise<string[]>;
  /** lstat(2): symlinks are reported as `symlink`, not followed. */
  stat(path: string): Promise<FileStat>;
  /** rename(2): atomic for readers, durable only after `syncDir` of both parents. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** Opens the directory read-only and fsyncs it: makes its entry changes durable. */
  syncDir(path: string): Promise<void>;
}
