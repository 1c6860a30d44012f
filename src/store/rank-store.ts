/**
 * The store one rank of a multi-rank job opens (`openStore(where, { rank,
 * worldSize, attempt })`): the reading side is the ordinary store's; saving
 * runs the multi-rank protocol (src/ranks/), coordinated only through the
 * storage. The leader (rank 0) records the incarnation's epoch when it first
 * restores (resumed from the step it restored) or, failing that, when it
 * first saves (started fresh), or when told with `startEpoch`. With the
 * store's `encryption` key every rank seals its shard files and the leader
 * commits only when every rank's key id is its own (ranks/seal-rank-file.ts).
 * With `signing` the leader signs the manifest; every rank's keys must accept
 * its key (ranks/sign-rank-manifest.ts).
 */
import { HoldfastError, invalidArg, isHoldfastError } from '../errors.js';
import type { JsonValue } from '../format/manifest-types.js';
import type { IoRuntime } from '../io/io-runtime.js';
import { resolveAttempt, type Attempt } from '../ranks/attempt-id.js';
import { decodeTensors } from '../restore/decode-tensors.js';
import { recordEpoch } from '../ranks/epoch.js';
import { defaultReplicaOwner, type RankSaveInput } from '../ranks/rank-input.js';
import { startRankSave, type RankSaveHandle, type RankSaveResult } from '../ranks/rank-save.js';
import { rankSealer } from '../ranks/seal-rank-file.js';
import type { EncryptionKey } from '../format/chunk-cipher.js';
import type { ManifestTrust } from '../format/manifest-signature.js';
import type { PhaseHook } from '../ranks/rank-write.js';
import type { ValidCheckpoint } from '../restore/find-valid.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import type { DurabilityMode, RestoreResult, SaveOptions, Store } from './types.js';

export type { RankSaveInput, GlobalSlab } from '../ranks/rank-input.js';
export type { RankSaveHandle, RankSaveResult } from '../ranks/rank-save.js';
export type { RankPhase, PhaseHook } from '../ranks/rank-write.js';

/** Default time the leader waits for every rank's record (from its own), as Orbax's barrier. */
const DEFAULT_DEADLINE_MS = 300_000;
const DEFAULT_COMMIT_MARGIN_MS = 60_000;

export interface RankOptions {
  rank: number;
  worldSize: number;
  /** Shared by every rank of this job incarnation, unique per incarnation; default: from TorchElastic or Slurm env. */
  attempt?: string;
  /** How long the leader waits for every rank's record after writing its own (default 300 s). */
  deadlineMs?: number;
  /** How much longer the other ranks wait for the commit or abort (default 60 s). */
  commitMarginMs?: number;
  /** Which rank writes a replicated tensor; must be the same pure function on every rank (default: by name hash). */
  replicaOwner?: (name: string) => number;
  /** Called as this rank reaches each protocol phase. */
  onPhase?: PhaseHook;
}

export interface RankRestoreResult extends RestoreResult {
  /** Per-rank state by the saving rank (length = its world size), or null for a checkpoint without it. */
  rankState: JsonValue[] | null;
  /** The world size that saved it. */
  savedWorldSize: number;
}

export interface RankStore extends Omit<Store, 'save' | 'saveAsync' | 'commitFiles' | 'restore'> {
  readonly rank: number;
  readonly worldSize: number;
  readonly attempt: Attempt;
  /** This rank's part of checkpoint `step`; resolves once the leader committed it (read back from the storage). */
  save(step: number, input: RankSaveInput, options?: SaveOptions): Promise<RankSaveResult>;
  /** The same, in the background: `snapshotted` at once (the input is copied), then `written`, then `committed`. */
  saveAsync(step: number, input: RankSaveInput, options?: SaveOptions): RankSaveHandle;
  /** Whole global tensors (slabs assembled), the global state and every rank's saved state. */
  restore(step?: number): Promise<RankRestoreResult>;
  /** Leader only: records this incarnation's epoch now (idempotent per attempt); returns its number. */
  startEpoch(resumedFrom: number | null): Promise<number>;
}

/** What the ordinary store lends a rank store. */
export interface RankStoreBase extends Store {
  readonly storage: CheckpointStorage;
  readonly io: IoRuntime;
  readonly durability: DurabilityMode;
  /** The store's encryption key: seals every rank file (and opens encrypted checkpoints, as the base store does). */
  readonly encryptWith?: EncryptionKey | undefined;
  /** The store's signing keys: the leader signs with them (sign-rank-manifest.ts); restores require them. */
  readonly trust?: ManifestTrust | undefined;
  findVerified(step: number | undefined, keepBytes: boolean): Promise<ValidCheckpoint>;
}

export function isRankOptions(o: object): o is RankOptions {
  return 'rank' in o || 'worldSize' in o;
}

export function rankStore(base: RankStoreBase, options: RankOptions): RankStore {
  const { rank, worldSize } = options;
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw invalidArg(`worldSize must be an integer >= 1, got ${JSON.stringify(worldSize)}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) throw invalidArg(`rank must be an integer in [0, ${worldSize}), got ${JSON.stringify(rank)}`);
  for (const key of ['deadlineMs', 'commitMarginMs'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw invalidArg(`${key} must be an integer >= 0, got ${JSON.stringify(v)}`);
  }
  if (base.storage.joinAttempt === undefined || base.storage.epochs === undefined) throw invalidArg(`${base.root}: this storage cannot host multi-rank saves`);
  return new RanksOverStore(base, options, resolveAttempt(options.attempt));
}

class RanksOverStore implements RankStore {
  readonly rank: number;
  readonly worldSize: number;
  private epoch: Promise<number> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly base: RankStoreBase,
    private readonly options: RankOptions,
    readonly attempt: Attempt,
  ) {
    this.rank = options.rank;
    this.worldSize = options.worldSize;
  }

  get root(): string {
    return this.base.root;
  }

  get fs(): Store['fs'] {
    return this.base.fs;
  }

  save(step: number, input: RankSaveInput, options: SaveOptions = {}): Promise<RankSaveResult> {
    return this.saveAsync(step, input, options).committed;
  }

  saveAsync(step: number, input: RankSaveInput, options: SaveOptions = {}): RankSaveHandle {
    const { base } = this;
    const handle = startRankSave(
      {
        storage: base.storage,
        io: base.io,
        rank: this.rank,
        worldSize: this.worldSize,
        attempt: this.attempt,
        deadlineMs: this.options.deadlineMs ?? DEFAULT_DEADLINE_MS,
        commitMarginMs: this.options.commitMarginMs ?? DEFAULT_COMMIT_MARGIN_MS,
        replicaOwner: this.options.replicaOwner ?? ((name) => defaultReplicaOwner(name, this.worldSize)),
        epoch: () => this.startEpoch(null),
        onPhase: this.options.onPhase,
        gitCommit: options.gitCommit,
        configHash: options.configHash,
        sealer: rankSealer(base.encryptWith, base.io),
        trust: base.trust,
      },
      step,
      input,
      base.durability,
    );
    const settled = handle.committed.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return handle;
  }

  async restore(step?: number): Promise<RankRestoreResult> {
    let found: ValidCheckpoint;
    try {
      found = await this.base.findVerified(step, true);
    } catch (e) {
      if (this.rank === 0 && step === undefined && isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) await this.startEpoch(null);
      throw e;
    }
    if (this.rank === 0) await this.startEpoch(found.step);
    const manifest = found.check.manifest!;
    const tensors = decodeTensors(manifest, found.check.bytesByFile, found.location);
    await this.base.storage.audit('restore', { step: found.step, skipped: found.skipped, rank: this.rank });
    return { step: found.step, path: found.location, manifest, tensors, state: manifest.state, skipped: found.skipped, rankState: manifest.rankState ?? null, savedWorldSize: manifest.world.size };
  }

  startEpoch(resumedFrom: number | null): Promise<number> {
    if (this.rank !== 0) return Promise.reject(new HoldfastError('HF_INVALID_ARG', `only the leader (rank 0) records the epoch; this is rank ${this.rank}`));
    this.epoch ??= recordEpoch(this.base.storage, this.attempt, resumedFrom).then((r) => r.epoch);
    // A failed attempt to record it is retried by the next caller.
    this.epoch.catch(() => {
      this.epoch = undefined;
    });
    return this.epoch;
  }

  latest: Store['latest'] = () => this.base.latest();
  list: Store['list'] = () => this.base.list();
  verify: Store['verify'] = (step) => this.base.verify(step);
  restoreFiles: Store['restoreFiles'] = (step, toDir) => this.base.restoreFiles(step, toDir);
  inspect: Store['inspect'] = (step) => this.base.inspect(step);
  gc: Store['gc'] = (options) => this.base.gc(options);
  tag: Store['tag'] = (step, name) => this.base.tag(step, name);
  untag: Store['untag'] = (name) => this.base.untag(name);
  tags: Store['tags'] = () => this.base.tags();
  adviseInterval: Store['adviseInterval'] = (options) => this.base.adviseInterval(options);
  warm: Store['warm'] = (stateBytes) => this.base.warm(stateBytes);

  async close(): Promise<void> {
    await Promise.all([...this.inFlight]);
    await this.base.close();
  }
}
