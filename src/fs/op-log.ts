/**
 * The operation log that `RecordingFileSystem` writes and `CrashModel`
 * replays: one entry per mutating call (creates, writes, truncates, syncs and
 * namespace changes), in completion order. Reads are not logged. Rule ids
 * (R…, B3): docs/CRASH-MODEL.md.
 *
 * Contract:
 * - `index` is the entry's position in the log.
 * - Handle operations carry the path the handle's inode had *when the call
 *   was made* (renames are followed), so the log is replayable by path alone;
 *   `orphaned` marks a handle whose file was unlinked or replaced, whose
 *   writes can no longer reach any name.
 * - `error` is the errno of a call that failed. A failed call is assumed to
 *   have changed nothing, except a failed `pwrite`, whose `data` is what may
 *   have reached the file (see `RecordingFileSystem`), and a failed sync,
 *   which the crash model treats as poisoning (R10).
 * - `issuedAt` on syncs is the log length when the sync was *issued*: only
 *   entries before it are certainly covered, even if other calls completed
 *   while the sync ran.
 */

interface OpBase {
  index: number;
  /** errno of a failed call (`EIO`, `ENOSPC`, `EEXIST`, …); absent on success. */
  error?: string;
}

interface HandleOpBase extends OpBase {
  path: string;
  handleId: number;
  orphaned?: boolean;
}

interface CreateOp extends OpBase {
  kind: 'create';
  path: string;
  handleId: number;
}

interface MkdirOp extends OpBase {
  kind: 'mkdir';
  path: string;
}

export interface PwriteOp extends HandleOpBase {
  kind: 'pwrite';
  offset: number;
  /** A private copy of the bytes written. */
  data: Uint8Array;
}

interface TruncateOp extends HandleOpBase {
  kind: 'truncate';
  sizeBytes: number;
}

interface FileSyncOp extends HandleOpBase {
  kind: 'fsync' | 'fdatasync';
  issuedAt: number;
}

interface RenameOp extends OpBase {
  kind: 'rename';
  from: string;
  to: string;
}

interface RemoveOp extends OpBase {
  kind: 'unlink' | 'rmdir';
  path: string;
}

interface SyncDirOp extends OpBase {
  kind: 'syncDir';
  path: string;
  issuedAt: number;
}

export type Op = CreateOp | MkdirOp | PwriteOp | TruncateOp | FileSyncOp | RenameOp | RemoveOp | SyncDirOp;

/** An op before the log assigns its index. */
export type OpInput = Op extends infer T ? (T extends Op ? Omit<T, 'index'> : never) : never;

/** Barriers and renames: B3 found every known crash bug right after one, so those crash points go first. */
export function isBarrierOrRename(op: Op): boolean {
  return op.kind === 'fsync' || op.kind === 'fdatasync' || op.kind === 'syncDir' || op.kind === 'rename';
}

/** `#12 pwrite /a/f @4096+8192` — short and unambiguous, for descriptions and failure messages. */
export function describeOp(op: Op): string {
  const failed = op.error === undefined ? '' : ` (failed ${op.error})`;
  switch (op.kind) {
    case 'pwrite':
      return `#${op.index} pwrite ${op.path} @${op.offset}+${op.data.length}${failed}`;
    case 'truncate':
      return `#${op.index} truncate ${op.path} to ${op.sizeBytes}${failed}`;
    case 'rename':
      return `#${op.index} rename ${op.from} -> ${op.to}${failed}`;
    default:
      return `#${op.index} ${op.kind} ${op.path}${failed}`;
  }
}
