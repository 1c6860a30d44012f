/** Holdfast's public surface. Everything else is internal and may change. */
export { openStore } from './store/open-store.js';
export { replicate, type ReplicateOptions, type ReplicateReport, type ReplicateStepResult } from './store/replicate.js';
export type { CopyOutcome, TransferProgress } from './store/copy-checkpoint.js';
export type {
  CheckpointInfo,
  DurabilityMode,
  FileProblem,
  GcOptions,
  GcResult,
  IntervalAdvice,
  IntervalOptions,
  LatestResult,
  RestoreLayout,
  RestoreOptions,
  RestoreResult,
  SaveInput,
  SaveOptions,
  SaveResult,
  Store,
  StoreEvent,
  StoreOptions,
  TensorPart,
  TieredStore,
  TieredWhere,
  TierState,
  UploadReport,
  VerifyLevel,
  VerifyReport,
} from './store/types.js';
export { DURABILITY_MODES } from './store/types.js';
export { adviseInterval, type IntervalInputs, type IntervalRow } from './store/interval-advisor.js';
export { signingFromEnv, type SigningOptions } from './store/signing-keys.js';
export { encryptionFromEnv, type EncryptionOptions } from './store/encryption-keys.js';
export type { KeepBest, RetentionPolicy, RetentionRule, RetentionVerdict, Tag } from './store/types.js';
export { evaluateRetention, metricValue, type RetentionCandidate } from './store/retention.js';
export type { GlobalSlab, PhaseHook, RankOptions, RankPhase, RankRestoreResult, RankSaveHandle, RankSaveInput, RankSaveResult, RankStore } from './store/rank-store.js';
export { HoldfastError, isHoldfastError, type HoldfastErrorCode } from './errors.js';
export type { DType, Tensor, TensorData } from './format/dtype.js';
export type { Manifest, JsonValue } from './format/manifest-types.js';
export type { FileSystem, FileHandle, FileStat, OpenMode } from './fs/file-system.js';
export { PosixFileSystem } from './fs/posix-file-system.js';
export { IoRuntime, type IoRuntimeOptions } from './io/io-runtime.js';
