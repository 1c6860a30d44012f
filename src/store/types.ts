/** The public shape of a checkpoint store: what users, the CLI, the demo and the benchmark call. */
import type { Tensor } from '../format/dtype.js';
import type { JsonValue, Manifest } from '../format/manifest-types.js';
import type { DurabilityMode, FileProblem, SaveInput, SaveResult, StoreEvent, VerifyLevel } from '../format/vocabulary.js';
import type { FileSystem } from '../fs/file-system.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { LeaseOptions } from '../storage/writer-lease.js';

export type { DurabilityMode, FileProblem, SaveInput, SaveResult, StoreEvent, VerifyLevel } from '../format/vocabulary.js';
export { DURABILITY_MODES } from '../format/vocabulary.js';
export type { LeaseOptions } from '../storage/writer-lease.js';

export interface StoreOptions {
  /** Default: the real disk (`PosixFileSystem`). */
  fs?: FileSystem;
  /** Default `atomic_dirsync`. */
  durability?: DurabilityMode;
  /** Default `full`: every byte hashed on restore. */
  verify?: VerifyLevel;
  /**
   * Permission bits of what the store creates on the real disk (default 0o600 files, 0o700
   * directories, whatever the umask). Widen for a group-shared store, e.g. 0o640 / 0o750.
   */
  fileMode?: number;
  dirMode?: number;
  /** Create the store directory if missing (default true). */
  create?: boolean;
  /** Target size of one shard file before a new one is started (default 256 MiB). */
  shardSizeBytes?: number;
  /** How a writer waits for the store's writer lease (one writer at a time; readers never need it). */
  lease?: LeaseOptions;
  /** Called with human-readable progress and warnings (rollback, quarantine). */
  onEvent?: (event: StoreEvent) => void;
  /**
   * Hashing workers and I/O memory to use, e.g. one shared by several stores; the caller closes it.
   * Default: the store creates its own and `close()` releases it.
   */
  runtime?: IoRuntime;
}

export interface SaveOptions {
  durability?: DurabilityMode;
  /** Recorded in provenance. */
  gitCommit?: string;
  configHash?: string;
}

export interface SaveAsyncOptions extends SaveOptions {
  /** A save is already in flight: `wait` for it (default) or `refuse` with HF_BUSY. */
  ifBusy?: 'wait' | 'refuse';
  /** Told how many bytes were copied and how long the copy (the training pause) took. */
  onSnapshot?: (snapshot: { bytes: number; copyMs: number }) => void;
}

export interface AsyncSaveHandle {
  /** Resolves once the state is copied: from then on the caller may change its tensors. */
  snapshotted: Promise<void>;
  /** Resolves when the checkpoint is committed; rejects (leaving nothing committed) on failure. */
  committed: Promise<SaveResult>;
}

export interface CheckpointInfo {
  step: number;
  path: string;
  bytes: number;
  files: number;
  createdAt: string;
}

export interface VerifyReport {
  step: number;
  path: string;
  ok: boolean;
  problems: FileProblem[];
}

export interface RestoreResult {
  step: number;
  path: string;
  manifest: Manifest;
  tensors: Record<string, Tensor>;
  state: JsonValue;
  /** Newer checkpoints that failed verification and were quarantined on the way (or, fenced out by a newer epoch, skipped). */
  skipped: { step: number; reason: string }[];
}

export interface LatestResult {
  step: number;
  path: string;
  skipped: { step: number; reason: string }[];
}

export interface GcOptions {
  keepLast: number;
  /** Staging leftovers younger than this are kept: they may belong to a paused save (default 10 minutes). */
  stagingGraceMs?: number;
}

export interface GcResult {
  removedSteps: number[];
  removedStaging: string[];
  /** `ckpt-*` entries without a manifest, moved to quarantine (never deleted: a damaged manifest may be all that is wrong). */
  quarantined: string[];
}

/** A checkpoint store. Create with `openStore(root, options)` from `src/store/open-store.ts`. */
export interface Store {
  readonly root: string;
  readonly fs: FileSystem;
  /** Saves tensors + JSON state as checkpoint `step`; throws HF_STEP_EXISTS if it is already committed. */
  save(step: number, input: SaveInput, options?: SaveOptions): Promise<SaveResult>;
  /**
   * Copies the state into staging memory and returns; writing and commit continue in the background.
   * At most one save is in flight per store. Same protocol and guarantees as `save`.
   */
  saveAsync(step: number, input: SaveInput, options?: SaveAsyncOptions): AsyncSaveHandle;
  /** Commits arbitrary files (e.g. a `.pt`) as checkpoint `step`, hashed and verified like shards. */
  commitFiles(step: number, paths: string[], options?: SaveOptions): Promise<SaveResult>;
  /**
   * Loads checkpoint `step`, or the newest one that passes verification. Newer ones that fail are
   * quarantined and skipped (reported in `skipped`). Throws HF_NO_VALID_CHECKPOINT when none passes.
   */
  restore(step?: number): Promise<RestoreResult>;
  /** The newest checkpoint that passes verification (quarantining failing newer ones), or null. */
  latest(): Promise<LatestResult | null>;
  /** Committed checkpoints, oldest first (staging and quarantine are not listed). */
  list(): Promise<CheckpointInfo[]>;
  /** Verifies one or all checkpoints; changes nothing on disk. */
  verify(step?: number): Promise<VerifyReport[]>;
  /** Copies a verified checkpoint's files into `toDir` (created if missing). */
  restoreFiles(step: number | undefined, toDir: string): Promise<{ step: number; files: string[] }>;
  /** Reads and validates the manifest of `step` (no data hashing). */
  inspect(step: number): Promise<Manifest>;
  /** Applies retention under the writer lease; staging leftovers past the grace period go, uncommitted `ckpt-*` entries are quarantined. */
  gc(options: GcOptions): Promise<GcResult>;
  /**
   * Stops the hashing workers and frees the I/O memory of a runtime the store created (not of one
   * passed in `StoreOptions.runtime`), once a `saveAsync` in flight has settled. Idempotent; await
   * running `save` and `restore` calls first.
   */
  close(): Promise<void>;
}
