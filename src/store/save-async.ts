/**
 * `saveAsync` (DESIGN §6): the training loop pauses only for a copy of its
 * state; the write, hashing and commit of that copy run in the background
 * through the store's ordinary `save`, so the background work has exactly the
 * crash-safety of a synchronous save (a failure leaves no committed
 * checkpoint; `committed` rejects with the error).
 *
 * Contract: `snapshotted` settles once the input is copied (already settled
 * on return when no other save is in flight); `committed` settles with the
 * save's result. At most one save per store is in flight; a second waits
 * (`ifBusy: 'wait'`, default; its copy happens when the first finishes, so
 * the caller must not touch its tensors until `snapshotted`) or is refused
 * with HF_BUSY (`'refuse'`). The tensors are staged grouped the way the
 * planner will cut them into shard files, so each file's bytes reach the disk
 * straight from the staged copy (no second copy).
 *
 * Within `stagingBudgetBytes` (DESIGN §6): the snapshot copies whole shard
 * files' tensors while they fit the budget; the others stay the caller's and
 * are written first, straight from its arrays through the writer's bounded
 * buffers, and `snapshotted` resolves once they are on disk. Peak memory is
 * then the state + the budget + the writer's fixed buffers, and the pause is
 * ≈ copy(staged) + deferred bytes / write bandwidth (README, Guarantees).
 */
import { DEFAULT_SHARD_BYTES, planShards } from '../commit/plan-shards.js';
import { invalidArg } from '../errors.js';
import { startAsyncSave, type AsyncSave, type Deferred } from '../io/snapshot-then-save.js';
import type { InFlightLimiter } from '../io/in-flight-limiter.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { SaveAsyncOptions, SaveInput, SaveOptions, SaveResult } from './types.js';

export interface SaveAsyncInternalOptions extends SaveAsyncOptions {
  /** Must equal the store's `shardSizeBytes` for the zero-copy grouping (default: the store's default, DEFAULT_SHARD_BYTES). */
  shardSizeBytes?: number;
  /** The store's runtime: its staging memory receives the copy (reused across saves). */
  runtime: IoRuntime;
  /** The store's one-save-at-a-time slot, shared by every `saveAsync` on it. */
  limiter: InFlightLimiter;
}

/** The store's own save, told which tensors are still the caller's. */
export type SaveDeferring = (step: number, input: SaveInput, options: SaveOptions, deferred: Deferred | undefined) => Promise<SaveResult>;

export function saveAsync(save: SaveDeferring, step: number, input: SaveInput, options: SaveAsyncInternalOptions): AsyncSave<SaveResult> {
  const { ifBusy, shardSizeBytes, runtime, limiter, onSnapshot, stagingBudgetBytes, ...saveOptions } = options;
  let fileGroups: string[][] | undefined;
  try {
    assertBudget(stagingBudgetBytes);
    fileGroups = planShards(input?.tensors ?? {}, shardSizeBytes ?? DEFAULT_SHARD_BYTES).map((s) => s.tensors.map((t) => t.name));
  } catch (e) {
    // Invalid input: let the ordinary validation report it through both promises.
    const snapshotted = Promise.reject(e);
    const committed = Promise.reject(e);
    snapshotted.catch(() => undefined);
    committed.catch(() => undefined);
    return { snapshotted, committed };
  }
  let pauseMs: number | undefined;
  const handle = startAsyncSave(input, (snap, deferred) => save(step, snap, { ...saveOptions, ...(pauseMs === undefined ? {} : { pauseMs }) }, deferred), {
    limiter,
    ifBusy: ifBusy ?? 'wait',
    fileGroups,
    runtime,
    ...(stagingBudgetBytes === undefined ? {} : { budgetBytes: stagingBudgetBytes }),
    onSnapshot: (snapshot) => {
      // The copy is the pause a background save costs the training loop (plus, with a staging
      // budget, the writes of what was not copied: the commit adds those): the manifest records it.
      pauseMs = snapshot.copyMs;
      onSnapshot?.(snapshot);
    },
  });
  // A background failure reaches the caller through `committed` whenever it is awaited; until then it
  // must not count as an unhandled rejection, which would end the training process.
  handle.committed.catch(() => undefined);
  return handle;
}

function assertBudget(budget: unknown): void {
  if (budget === undefined || (typeof budget === 'number' && Number.isSafeInteger(budget) && budget >= 0)) return;
  throw invalidArg(`stagingBudgetBytes must be a whole number of bytes ≥ 0, got ${String(budget)}`);
}
export type { SaveAsyncOptions } from './types.js';
