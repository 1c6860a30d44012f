/**
 * One rank's save of step `step`, start to finish, as three promises:
 * `snapshotted` (the input is copied; the caller may change its tensors),
 * `written` (this rank's files are durable and its record is written) and
 * `committed` (the leader committed the manifest binding every rank's files;
 * rejects when the attempt was aborted, another attempt holds the step, or
 * the deadline passed). The background work of one rank never waits on
 * another process except through the storage, and always within a deadline.
 */
import { HoldfastError, isHoldfastError } from '../errors.js';
import { assertValidStep } from '../format/names.js';
import { newNonce } from '../format/nonce.js';
import type { SaveResult } from '../format/vocabulary.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { AttemptArea, CheckpointStorage } from '../storage/checkpoint-storage.js';
import type { Attempt } from './attempt-id.js';
import { awaitCommit } from './await-commit.js';
import { leadCommit, putAbort } from './leader-commit.js';
import { planRankFiles, type RankSaveInput } from './rank-input.js';
import { writeRankPart, type PhaseHook } from './rank-write.js';
import { rankEncryption, type FileSealer } from './seal-rank-file.js';
import { rankSigning } from './sign-rank-manifest.js';
import type { ManifestTrust } from '../format/manifest-signature.js';

export interface RankSaveContext {
  storage: CheckpointStorage;
  io: IoRuntime;
  rank: number;
  worldSize: number;
  attempt: Attempt;
  /** How long the leader waits for every record, from its own. */
  deadlineMs: number;
  /** How much longer than that the other ranks wait for the commit or the abort. */
  commitMarginMs: number;
  replicaOwner: (name: string) => number;
  /** The leader's epoch (format/epoch-record.ts), recorded on first use. */
  epoch: () => Promise<number>;
  onPhase?: PhaseHook | undefined;
  gitCommit?: string | undefined;
  configHash?: string | undefined;
  /** Seals this rank's files (encryption at rest); the leader also requires every rank's key id to be its own. */
  sealer?: FileSealer | undefined;
  /** The store's signing keys: the leader signs the manifest with them; every rank's record names them. */
  trust?: ManifestTrust | undefined;
}

export interface RankSaveResult extends SaveResult {
  rank: number;
  worldSize: number;
  /** The attempt nonce the manifest carries. */
  nonce: string;
}

export interface RankSaveHandle {
  snapshotted: Promise<void>;
  written: Promise<void>;
  committed: Promise<RankSaveResult>;
}

export function startRankSave(ctx: RankSaveContext, step: number, input: RankSaveInput, durability: SaveResult['durability']): RankSaveHandle {
  let planned: ReturnType<typeof planRankFiles>;
  try {
    assertValidStep(step);
    planned = planRankFiles(input, ctx.rank, ctx.worldSize, ctx.replicaOwner, newNonce().slice(0, 8));
  } catch (e) {
    return settledWith(e);
  }
  const files = planned;
  const joined = joinAttempt(ctx.storage, step, ctx.attempt.nonce);
  const written = joined.then(async (area) => {
    await ctx.onPhase?.('joined');
    try {
      return await writeRankPart(area, { rank: ctx.rank, worldSize: ctx.worldSize, attemptId: ctx.attempt.id, sealer: ctx.sealer, signing: rankSigning(ctx.trust) }, files, input.rankState ?? null, ctx.io, ctx.onPhase);
    } catch (e) {
      // The leader's own failure: no one else would write the marker the other ranks wait for.
      if (ctx.rank === 0 && !isHoldfastError(e, 'HF_ABORTED')) await putAbort({ area, onPhase: ctx.onPhase }, e instanceof Error ? e.message : String(e));
      throw e;
    }
  });
  const committed = Promise.all([joined, written]).then(async ([area, own]): Promise<RankSaveResult> => {
    let location: string;
    if (ctx.rank === 0) {
      await leadCommit({ storage: ctx.storage, area, attempt: ctx.attempt, worldSize: ctx.worldSize, epoch: ctx.epoch, state: input.state ?? null, deadlineMs: ctx.deadlineMs, onPhase: ctx.onPhase, gitCommit: ctx.gitCommit, configHash: ctx.configHash, encryption: rankEncryption(ctx.sealer), trust: ctx.trust });
      await ctx.onPhase?.('committed');
      location = (await ctx.storage.open(step))?.location ?? area.location;
    } else {
      location = (await awaitCommit(ctx.storage, area, own, ctx.deadlineMs + ctx.commitMarginMs)).location;
    }
    const bytes = own.files.reduce((n, f) => n + f.size, 0);
    return { step, path: location, bytes, files: own.files.length, durability, rank: ctx.rank, worldSize: ctx.worldSize, nonce: ctx.attempt.nonce };
  });
  // Failures reach the caller through whichever promise it awaits; none may end the process unobserved.
  const done = written.then(() => undefined);
  done.catch(() => undefined);
  committed.catch(() => undefined);
  return { snapshotted: Promise.resolve(), written: done, committed };
}

function joinAttempt(storage: CheckpointStorage, step: number, nonce: string): Promise<AttemptArea> {
  if (storage.joinAttempt === undefined) {
    return Promise.reject(new HoldfastError('HF_INVALID_ARG', `${storage.location}: this storage cannot host multi-rank saves (it has no shared attempt area)`, { path: storage.location }));
  }
  return storage.joinAttempt(step, nonce);
}

function settledWith(e: unknown): RankSaveHandle {
  const rejected = Promise.reject(e);
  rejected.catch(() => undefined);
  return { snapshotted: rejected, written: rejected, committed: rejected as Promise<never> };
}
