/** The public shape of a checkpoint store: what users, the CLI, the demo and the benchmark call. */
import type { SigningOptions } from './signing-keys.js';
import type { EncryptionOptions } from './encryption-keys.js';
import type { IntervalRow, MeasuredCosts } from './interval-advisor.js';
import type { Tensor, TensorData } from '../format/dtype.js';
import type { JsonValue, Manifest } from '../format/manifest-types.js';
import type { DurabilityMode, FileProblem, SaveInput, SaveResult, StoreEvent, VerifyLevel } from '../format/vocabulary.js';
import type { FileSystem } from '../fs/file-system.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import type { LeaseOptions } from '../storage/writer-lease.js';
import type { RestoreLayout } from '../restore/tensor-part.js';
import type { RequireSame } from '../format/provenance-match.js';
import type { RetentionPolicy, RetentionVerdict } from './retention.js';
import type { Tag } from './tags.js';

export type { DurabilityMode, FileProblem, SaveInput, SaveResult, StoreEvent, VerifyLevel } from '../format/vocabulary.js';
export { DURABILITY_MODES } from '../format/vocabulary.js';
export type { LeaseOptions } from '../storage/writer-lease.js';
export type { PartBuffers, RestoreLayout, TensorPart } from '../restore/tensor-part.js';
export type { KeepBest, RetentionPolicy, RetentionRule, RetentionVerdict } from './retention.js';
export type { Tag } from './tags.js';

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
  /**
   * Sign every manifest this store commits, and refuse (quarantine, roll back over) checkpoints
   * that are unsigned or not signed by one of these keys. `signingFromEnv()` reads the
   * HOLDFAST_* key variables the CLI uses.
   */
  signing?: SigningOptions;
  /**
   * Encrypt every file this store saves (AES-256-GCM records, format/chunk-cipher.ts) and decrypt
   * encrypted checkpoints on restore. Verify, `latest` and rollback need no key (digests are of the
   * stored bytes); a restore of a checkpoint encrypted with another key, or without one, is HF_KEY
   * naming the key id. `encryptionFromEnv()` reads the HOLDFAST_ENCRYPTION_* variables the CLI uses.
   */
  encryption?: EncryptionOptions;
  /**
   * For a process that will save: before `openStore` returns, start the hashing workers and reserve
   * the I/O buffers (see `Store.warm`); `true` for the whole pool, or the state's size in bytes.
   */
  warm?: boolean | number;
  /** Default `stagingBudgetBytes` of every `saveAsync` (default: no limit, the whole state is staged). */
  stagingBudgetBytes?: number;
  /**
   * Applied after each commit (`save`, `saveAsync`, `commitFiles`) under the writer lease, as `gc`
   * applies it (without the staging sweep). Default: none, nothing is deleted automatically.
   * A tiered store applies it to both tiers after each upload (src/store/tiered-gc.ts).
   */
  retention?: RetentionPolicy;
}

export interface IntervalOptions {
  /** Mean time between failures of the job, ms. */
  mtbfMs: number;
  /** Restarting the job before the restore, ms (default 0). */
  restartMs?: number;
  /** Restore time, ms; default: estimated as the median write time of the same checkpoints (the same bytes through the same disk). */
  restoreMs?: number;
}

export interface IntervalAdvice {
  measured: MeasuredCosts;
  restoreMs: number;
  /** True when restoreMs was not given but estimated. */
  restoreEstimated: boolean;
  rows: IntervalRow[];
}

export interface SaveOptions {
  durability?: DurabilityMode;
  /**
   * Keep the previous checkpoint's shard files whose bytes are unchanged instead of writing them
   * again (manifest 2.0 `source`). Saves of one series should all pass it: it also plans small
   * shards (4 MiB, or `shardSizeBytes` when smaller) so a frozen tensor has files of its own.
   */
  incremental?: boolean;
  /** With `incremental`: every K-th save of a series is written in full (default: never), bounding how far a damaged file reaches. */
  fullEvery?: number;
  /** Recorded in provenance. */
  gitCommit?: string;
  configHash?: string;
  /**
   * The training pause this save cost, recorded in the manifest's `timing` for the interval
   * advisor, when the caller measured it itself (saveAsync records its snapshot). Default: the
   * whole save, which the caller waited for.
   */
  pauseMs?: number;
}

export interface SaveAsyncOptions extends SaveOptions {
  /** A save is already in flight: `wait` for it (default) or `refuse` with HF_BUSY. */
  ifBusy?: 'wait' | 'refuse';
  /**
   * Staging memory at most for this save's snapshot (default: the store's, else no limit). Shard
   * files that do not fit are not copied: they are written first, straight from the caller's
   * arrays, and `snapshotted` resolves once they are on disk; leave the tensors unchanged until
   * then. Pause ≈ copy(staged bytes) + (state − staged bytes) / write bandwidth.
   */
  stagingBudgetBytes?: number;
  /**
   * Told how many bytes were copied and how long the copy took; `deferredBytes` were not copied
   * (over the staging budget) and are written before `snapshotted` resolves.
   */
  onSnapshot?: (snapshot: { bytes: number; copyMs: number; deferredBytes: number }) => void;
}

export interface AsyncSaveHandle {
  /**
   * Resolves once the state is copied (within a staging budget: once the part not copied is on
   * disk, or the save failed): from then on the caller may change its tensors.
   */
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
  /** Tags naming this step. */
  tags: string[];
  /** In a tiered store: where the checkpoint is (see `TierState`). */
  tier?: TierState;
}

/**
 * Where a tiered store's checkpoint is, derived from the two stores (nothing else is kept):
 * `local` only in the local tier; `uploading` an upload to the durable tier began and has not
 * committed (running, or interrupted and resumable); `durable` in both tiers, the durable copy
 * committed with the same manifest; `durable-only` gone from the local tier (a replaced node,
 * retention); `conflict` the durable tier holds another checkpoint at that step.
 */
export type TierState = 'local' | 'uploading' | 'durable' | 'durable-only' | 'conflict';

/** A tiered store: a fast local tier, and a durable tier checkpoints are uploaded to in the background. */
export interface TieredWhere {
  /** The local store's directory. */
  local: string;
  /** The durable store: an `s3://bucket/prefix` URL, a directory, or a `CheckpointStorage`. */
  durable: string | CheckpointStorage;
  /**
   * `background` (default): every save is uploaded after its local commit, and uploads left
   * unfinished by an earlier process resume at open. `manual`: only `sync()` uploads.
   */
  upload?: 'background' | 'manual';
}

export interface UploadReport {
  /** One result per checkpoint handled: copied, present (already durable), conflict or missing (gone locally). */
  results: { step: number; outcome: 'copied' | 'present' | 'conflict' | 'missing'; bytes: number; sentBytes: number; note?: string }[];
  failed: { step: number; code: string; message: string }[];
}

export interface TieredStore extends Store {
  readonly durableRoot: string;
  /** Waits for the uploads queued so far; throws HF_IO naming the steps whose upload failed since the last flush. */
  flush(): Promise<UploadReport>;
  /** Uploads every local checkpoint the durable tier lacks (newest first), resuming interrupted uploads; then flushes. */
  sync(): Promise<UploadReport>;
}

export interface VerifyReport {
  step: number;
  path: string;
  ok: boolean;
  problems: FileProblem[];
}

export interface RestoreOptions {
  /** Default: the newest checkpoint that passes verification (rolling back past failing ones). */
  step?: number;
  /**
   * Fill these arrays of the caller's instead of allocating (name → typed array of the dtype's kind).
   * Without `layout`: one per tensor, of its element count (exactly the checkpoint's tensors); with
   * `layout`: one per part, of the part's length (parts not given are allocated). A function is given
   * each candidate's manifest (before its data is read) and returns the arrays. Checked before any
   * data is read (HF_INCOMPATIBLE lists every difference). Bytes may land in the arrays before their
   * hash is known: when the restore rejects once reading began, the arrays hold garbage and the error
   * says so (`data.intoUnverified`); after a rollback they hold the older step's.
   */
  into?: Readonly<Record<string, TensorData>> | ((manifest: Manifest) => Readonly<Record<string, TensorData>>);
  /**
   * Resharding: restore only these parts (a box `{offset, shape}` or a flat element range
   * `{flat: [begin, end]}` of each named global tensor), reading only the chunks that hold them,
   * every chunk verified. Other tensors are not read. `dtype`/`globalShape` in a part are checked.
   */
  layout?: RestoreLayout;
  /**
   * Refuse (HF_INCOMPATIBLE, every difference listed) a checkpoint whose recorded provenance differs
   * from this process in these respects: 'config' (the caller's `configHash`), 'git' (the caller's
   * `gitCommit`), 'library', 'library-major', 'node-major', 'platform'. Checked on the checkpoint the
   * restore chose, after it verified (no rollback to an older one: another run's checkpoint is not damage).
   */
  requireSame?: RequireSame[];
  /** The current config hash and git commit, compared when `requireSame` names them. */
  configHash?: string;
  gitCommit?: string;
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

/** A retention policy (at least one rule; rules combine by union) and how gc runs. */
export interface GcOptions extends RetentionPolicy {
  /** Decide and report, change nothing (no lease, no sweep, no quarantine). */
  dryRun?: boolean;
  /** Staging leftovers younger than this are kept: they may belong to a paused save (default 10 minutes). */
  stagingGraceMs?: number;
  /** Tiered stores: the durable tier's policy (default: the same rules as the local tier's). */
  durable?: RetentionPolicy;
  /** Tiered stores: the local tier may delete checkpoints the durable tier does not hold yet (default: kept until uploaded). */
  evenIfNotUploaded?: boolean;
}

export interface GcResult {
  /** Deleted (dry run: would be deleted), oldest first. */
  removedSteps: number[];
  /** Every committed checkpoint with whether it is kept and why (or why not). */
  verdicts: RetentionVerdict[];
  dryRun: boolean;
  removedStaging: string[];
  /** `ckpt-*` entries without a manifest, moved to quarantine (never deleted: a damaged manifest may be all that is wrong). */
  quarantined: string[];
  /** Tiered stores: the same for the durable tier (the fields above are the local tier's). */
  durable?: GcResult;
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
   * With `{ layout }`, only the caller's parts of the named tensors (see `RestoreOptions`); a layout
   * the checkpoint cannot serve is refused before any data is read (HF_INCOMPATIBLE).
   */
  restore(step?: number): Promise<RestoreResult>;
  /** The same, with options: `into` fills the caller's arrays; `layout` restores only the caller's parts of the tensors. */
  restore(options: RestoreOptions): Promise<RestoreResult>;
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
  /** Pins tag `name` to committed `step` (under the writer lease); a tagged checkpoint is never deleted by retention. */
  tag(step: number, name: string): Promise<void>;
  /** Removes tag `name`; returns the step it named (HF_NOT_FOUND when there is no such tag). */
  untag(name: string): Promise<number>;
  /** Every tag of the store. */
  tags(): Promise<Tag[]>;
  /**
   * The Young/Daly checkpoint interval for this job, from the save costs its manifests recorded
   * (manifest 2.0 `timing`; HF_NOT_FOUND when no checkpoint has any) and the failure rate given.
   */
  adviseInterval(options: IntervalOptions): Promise<IntervalAdvice>;
  /**
   * Starts the hashing workers and allocates and faults in the I/O buffers a save (or a restore)
   * of `stateBytes` uses (default: the whole pool, 128 MiB), so the first save of a process does
   * not pay for them. Call it while the process has other work to do (building the model);
   * later saves reuse the same workers and memory either way.
   */
  warm(stateBytes?: number): Promise<void>;
  /**
   * Stops the hashing workers and frees the I/O memory of a runtime the store created (not of one
   * passed in `StoreOptions.runtime`), once a `saveAsync` in flight has settled. Idempotent; await
   * running `save` and `restore` calls first.
   */
  close(): Promise<void>;
}
