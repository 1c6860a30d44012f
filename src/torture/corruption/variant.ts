/**
 * What a corruption variant is (classes C1–C15, docs/CRASH-MODEL.md;
 * anchors-reliability §3): an
 * injector that damages the fixture's newest checkpoint (step 300) unless it
 * says otherwise, only through `FileSystem` calls (open 'write' + pwrite,
 * truncate, unlink, rename, create, mkdir; symlinks and FIFOs through
 * `MemoryFileSystem.createSpecial`, the one thing the interface cannot
 * make), and returns what it did as (file, offset, length, detail) plus what
 * a correct store must do about it:
 *
 * - `damaged`: steps whose checkpoint is now damaged; verify must flag each
 *   (or not list it at all, which is what a missing manifest means);
 * - `expectedStep`: what `latest()`/`restore()` must return (null: nothing,
 *   HF_NO_VALID_CHECKPOINT).
 *
 * `classId` is the anchor class (`C1`…`C15`), or `unrecoverable` (every
 * checkpoint damaged) or `benign`.
 *
 * Expectations: `detect` (must be caught, required), `benign` (must NOT be
 * flagged: a false alarm otherwise, required), `undetectable` (no checksum
 * can catch it without state kept outside the store or a key: reported,
 * never counted as a miss), `refused` (encrypted fixture only, see
 * `refusedWhenEncrypted`: HF_KEY from every call, nothing quarantined, required).
 */
import type { FileSystem } from '../../fs/file-system.js';
import type { SeededRandom } from '../../fs/seeded-random.js';
import type { CorruptFixture } from '../corrupt-fixture.js';

export type Expectation = 'detect' | 'benign' | 'undetectable' | 'refused';

export interface FaultContext {
  fs: FileSystem;
  fixture: CorruptFixture;
  rng: SeededRandom;
}

export interface InjectedFault {
  /** Path relative to the store root of the (first) file touched. */
  file: string;
  offset: number;
  length: number;
  detail: string;
  damaged: number[];
  expectedStep: number | null;
}

export interface FaultVariant {
  /** `class/variant`, e.g. `bit-flip/tensor-data`. */
  name: string;
  /** Anchor class `C1`…`C15`, or `unrecoverable`, `benign`. */
  classId: string;
  expectation: Expectation;
  summary: string;
  /** The trial's reader holds the fixture's signing key (the fixture is always signed; other readers ignore signatures). */
  verifiedWithKey?: boolean;
  /**
   * On the encrypted fixture, the store refuses this fault with HF_KEY by design (stored bytes that
   * match rebound digests but do not authenticate: restore/decrypt-file.ts) instead of rolling back:
   * verify, latest and restore must each throw HF_KEY, quarantine nothing and restore nothing.
   */
  refusedWhenEncrypted?: string;
  /** Only the shard header check can catch it (a consistent rewrite): a reader without the key of an encrypted checkpoint cannot. */
  headerCheckOnly?: boolean;
  inject(ctx: FaultContext): Promise<InjectedFault>;
}
