/**
 * The words every layer shares (DESIGN §2): what a save takes and returns,
 * how durable it is, how a checkpoint is verified and what a failed check
 * says. They live here, below the layers that use them, so that io, storage,
 * commit and restore never import from the store layer above them.
 */
import type { Tensor } from './dtype.js';
import type { JsonValue } from './manifest-types.js';

export type DurabilityMode = 'unsafe' | 'atomic_nodirsync' | 'atomic_dirsync';
export const DURABILITY_MODES: readonly DurabilityMode[] = ['unsafe', 'atomic_nodirsync', 'atomic_dirsync'];

export type VerifyLevel = 'full' | 'sizes';

export type StoreEvent =
  | { type: 'quarantined'; step: number; reason: string; movedTo: string }
  | { type: 'rolled-back'; fromStep: number; toStep: number | null; reason: string }
  | { type: 'progress'; phase: string; doneBytes: number; totalBytes: number }
  | { type: 'retention'; afterStep: number; removedSteps: number[] }
  | { type: 'warning'; message: string };

export interface SaveInput {
  tensors?: Record<string, Tensor>;
  /** JSON training state: optimizer scalars, RNG state, data position, scheduler, … */
  state?: JsonValue;
}

export interface SaveResult {
  step: number;
  /** Final checkpoint directory. */
  path: string;
  bytes: number;
  files: number;
  durability: DurabilityMode;
  /** Incremental saves: bytes of `bytes` kept from earlier checkpoints instead of written. */
  keptBytes?: number;
  /** Set when some file was hashed on the main thread because no hashing worker could start, and why. */
  hashFallbackReason?: string;
}

export interface FileProblem {
  /** Manifest path of the file (or `manifest.json`). */
  file: string;
  reason: 'missing' | 'size' | 'hash' | 'bad-manifest' | 'bad-header' | 'not-a-file' | 'foreign-shard' | 'signature';
  message: string;
  expected?: string | number;
  actual?: string | number;
  /** A `hash` problem found by a chunk digest (manifest 2.0): which chunk, and its bytes [begin, end) in the file. */
  chunk?: { index: number; byteRange: [number, number] };
}
