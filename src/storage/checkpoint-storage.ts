/**
 * The checkpoint storage seam (DESIGN §3): what the commit and restore
 * layers need from wherever checkpoints live. It speaks checkpoints and
 * named files, shaped after object-store APIs rather than POSIX, because an
 * object store has no rename, no directories, no directory fsync and no
 * append. `LocalStorage` implements it on a `FileSystem` (the only code that
 * knows `.staging/`, `ckpt-<step>`, rename and `syncDir`); the in-memory
 * object twin implements it with exclusive create alone.
 *
 * Names inside a checkpoint are the manifest's relative paths (already
 * validated by the format layer). Locations (`location`, `locate`) are for
 * messages and results only: a directory path or a URL.
 */
import type { DurabilityMode } from '../format/vocabulary.js';
import type { HashedRead, ReadHashedOptions } from '../io/read-file-hashed.js';
import type { FileWriteOptions } from '../io/io-options.js';
import type { WrittenFile } from '../io/write-file-parts.js';
import type { WriterLease } from './writer-lease.js';

/** What a backend can promise; callers and tests ask instead of assuming POSIX. */
export interface StorageCapabilities {
  /** A finished checkpoint becomes visible in one atomic rename (else: an exclusive manifest create). */
  readonly atomicRename: boolean;
  /** A name can be created only if absent (O_EXCL, If-None-Match: *). */
  readonly exclusiveCreate: boolean;
  /** Directory entries need their own fsync to survive power loss. */
  readonly dirSync: boolean;
  /** A byte range of a file can be read without reading the rest. */
  readonly rangedRead: boolean;
}

/** What a named file in a checkpoint is, as far as a reader can tell before reading it. */
export type StoredFileKind = 'file' | 'directory' | 'symlink' | 'other';

export interface StoredFileInfo {
  kind: StoredFileKind;
  sizeBytes: number;
}

/** One committed checkpoint, opened for reading. Nothing is trusted until verified. */
export interface CheckpointReader {
  readonly step: number;
  /** Where the checkpoint lives (directory or URL), for messages and results. */
  readonly location: string;
  /** Where one of its files lives, for messages. */
  locate(name: string): string;
  /** Undefined when absent. A name whose parent is not a plain directory inside the checkpoint is reported as `symlink`/`other`. */
  statFile(name: string): Promise<StoredFileInfo | undefined>;
  /** A small file whole (manifest, SHA256SUMS), at most `maxBytes`. */
  readSmallFile(name: string, maxBytes: number): Promise<Uint8Array>;
  /** Reads up to `into.byteLength` bytes at `offset`; returns bytes read. */
  readRange(name: string, offset: number, into: Uint8Array): Promise<number>;
  /**
   * The bulk path: the whole file read once while hashing (and kept with `keep`); with the manifest's
   * `chunks`, the digest of each chunk too (an object store verifies each as it arrives and stops at
   * the first that differs).
   */
  readHashed(name: string, expectedSizeBytes: number, options: ReadHashedOptions): Promise<HashedRead>;
}

/** Bytes of one new file, pushed in order. */
export interface BlobSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the file complete (and durable, where the writer syncs); returns its size, SHA-256 and chunk digests. */
  close(): Promise<WrittenFile>;
  /** Drops what was written; never throws. */
  abort(): Promise<void>;
}

/** One attempt at writing checkpoint `step`. Nothing is visible to readers until `commit`. */
export interface CheckpointWriter {
  readonly step: number;
  readonly nonce: string;
  /** Where the checkpoint will live once committed. */
  readonly location: string;
  /** A file from a sequence of byte parts (the shard fast path: aligned, hashed off-thread). */
  writeFile(name: string, parts: readonly Uint8Array[], options: FileWriteOptions): Promise<WrittenFile>;
  /** A file streamed in chunks (copies of the caller's files). */
  createFile(name: string): Promise<BlobSink>;
  /**
   * Writes SHA256SUMS and the manifest (last) and makes the checkpoint the committed `step`.
   * Throws HF_STEP_EXISTS when another attempt committed the step first.
   */
  commit(manifest: Uint8Array, sha256Sums: Uint8Array): Promise<void>;
  /** Removes what this attempt wrote (best effort, never throws); readers never saw it. */
  abandon(): Promise<void>;
}

export interface BeginOptions {
  nonce: string;
  durability: DurabilityMode;
  /** Checked just before the commit becomes visible: a writer whose lease was taken over must not commit. */
  lease?: WriterLease | undefined;
}

export interface QuarantineResult {
  /** Where the checkpoint went, or undefined when it could not be moved (read-only store) or was already gone. */
  movedTo: string | undefined;
  /** Why nothing was moved, when nothing was. */
  note?: string;
}

export interface SweepOptions {
  /** Staging leftovers younger than this may belong to a live save and are kept. */
  graceMs: number;
}

export interface SweepResult {
  /** Staging leftovers removed. */
  removed: string[];
  /** `ckpt-<step>` entries without a valid commit, moved to quarantine rather than deleted. */
  quarantined: string[];
}

export type AuditAction = 'save' | 'restore' | 'quarantine' | 'delete' | 'gc-staging' | 'lease-takeover' | 'tag' | 'untag';

/**
 * Small named records kept beside the checkpoints (tags), never part of one. Names follow
 * `assertValidRecordName`. Each record is replaced whole: a reader sees the old bytes or the new.
 */
export interface RecordStore {
  /** Names of the records, sorted. */
  list(): Promise<string[]>;
  /** Undefined when absent. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Creates or replaces `name` atomically and durably. */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** Removes `name`, durably; absent already is fine. */
  remove(name: string): Promise<void>;
}

export interface CheckpointStorage {
  /** The store's root directory or URL. */
  readonly location: string;
  readonly capabilities: StorageCapabilities;
  /** Steps of committed checkpoints, oldest first. */
  list(): Promise<number[]>;
  /** Undefined when `step` is not committed. */
  open(step: number): Promise<CheckpointReader | undefined>;
  begin(step: number, options: BeginOptions): Promise<CheckpointWriter>;
  /** Moves a failed checkpoint out of readers' sight, never deleting a byte. Tolerates another process having done it. */
  quarantine(step: number, reason: string): Promise<QuarantineResult>;
  /** Un-commits `step` first (one atomic step), then deletes its files. */
  remove(step: number, lease?: WriterLease): Promise<void>;
  /** Staging leftovers older than the grace period; uncommitted `ckpt-*` entries go to quarantine. */
  sweep(options: SweepOptions): Promise<SweepResult>;
  /** One line in the store's audit log; best effort, never fails the caller. */
  audit(action: AuditAction, details: Record<string, unknown>): Promise<void>;
  /** The store's writer lease (one writer at a time), created on first use. */
  readonly lease: LeaseBackend;
  /** The store's small named records (tags). */
  readonly records: RecordStore;
  /** Releases connections or handles the backend holds (`store.close()` calls it). */
  close?(): Promise<void>;
  /**
   * The shared staging area of multi-rank attempt `nonce` at `step` (src/ranks/), created by the
   * first rank to join. Absent on a backend that cannot host many writers.
   */
  joinAttempt?(step: number, nonce: string): Promise<AttemptArea>;
  /** The job incarnations' epoch records (multi-rank fencing); absent where `joinAttempt` is. */
  readonly epochs?: EpochBackend;
}

/**
 * One multi-rank attempt at `step`, shared by every rank through the storage alone: each rank
 * writes its files, then its record; the leader commits. Records are small documents that appear
 * whole and exactly once (local: a record directory renamed into place, which fails onto an
 * existing one; object store: `If-None-Match: *`), durable when `putRecord` returns.
 * Nothing here is visible to readers until `commit`. A committed step is never moved aside.
 */
export interface AttemptArea {
  readonly step: number;
  readonly nonce: string;
  /** The staging directory or attempt prefix, for messages. */
  readonly location: string;
  /** A new data file, complete and durable when this returns (fsynced; or a finished upload). */
  writeFile(name: string, parts: readonly Uint8Array[], options: FileWriteOptions): Promise<WrittenFile>;
  /** A data file as the leader checks it: undefined when absent. */
  statFile(name: string): Promise<StoredFileInfo | undefined>;
  /** Creates record `name` whole, exclusively and durably; false when one of that name exists (another writer's or ours). */
  putRecord(name: string, bytes: Uint8Array): Promise<boolean>;
  /** Undefined when absent. */
  readRecord(name: string): Promise<Uint8Array | undefined>;
  /** Names of the records present. */
  listRecords(): Promise<string[]>;
  /**
   * Writes SHA256SUMS and the manifest, then makes the attempt the committed `step` (local: rename
   * of the staging directory + directory fsyncs; object store: exclusive single-part manifest PUT).
   * An ambiguous failure is settled by reading the manifest back: our bytes mean committed.
   * Throws HF_STEP_EXISTS when another attempt holds the step.
   */
  commit(manifest: Uint8Array, sha256Sums: Uint8Array): Promise<void>;
}

/**
 * Epoch records, one per job incarnation (`epochs/<E>`): created exclusively and never deleted
 * (gc leaves them), so readers can apply the lineage rule to every manifest.
 */
export interface EpochBackend {
  readonly location: string;
  /** Epoch numbers present, ascending. */
  list(): Promise<number[]>;
  read(epoch: number): Promise<Uint8Array | undefined>;
  /** Creates the record whole and durably only if absent; false when it exists. */
  createExclusive(epoch: number, record: Uint8Array): Promise<boolean>;
}

/**
 * Where a writer lease's record lives (see writer-lease.ts). Exclusive create and an atomic "move the
 * record away" are the only primitives: of several processes retiring one record, exactly one gets
 * it, and every change of the record is a retire, a check and an exclusive create.
 */
export interface LeaseBackend {
  readonly location: string;
  /** The current record's bytes, or undefined when there is none. */
  read(): Promise<Uint8Array | undefined>;
  /** Creates the record only if absent; false when another exists. */
  createExclusive(record: Uint8Array): Promise<boolean>;
  /** Atomically removes the current record and returns its bytes; undefined when another process removed it first. */
  retire(): Promise<Uint8Array | undefined>;
}

