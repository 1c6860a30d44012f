/**
 * Composes snapshot, in-flight limiter and a save function into the two
 * promises of an asynchronous save. Contract:
 * - `snapshotted` resolves once the input has been copied; from then on the
 *   caller may change its tensors. When a slot is free the copy happens inside
 *   the call itself, so the promise is already settled on return; with
 *   `ifBusy: 'wait'` the copy waits for the slot (the caller must not touch its
 *   tensors until `snapshotted`), with `'refuse'` both promises reject HF_BUSY.
 * - `committed` settles with the save's own result or error. The save function
 *   is the ordinary, crash-safe save, so a failure in the background leaves
 *   exactly what a failed synchronous save leaves: no committed checkpoint.
 * - Within a staging budget (`budgetBytes`) the snapshot may defer tensors
 *   (see snapshot.ts): the save gets them as the caller's own arrays in
 *   `Deferred`, writes them first and calls `returned()` once it no longer
 *   reads them. `snapshotted` then resolves only after that (or once the save
 *   settled, whichever is first; a failure is `committed`'s to report), so
 *   the pause is ≈ copy(staged bytes) + write(deferred bytes).
 * - The staging memory and the slot are released when the save settles.
 * Rejections of `snapshotted` are pre-observed so a caller that awaits only
 * `committed` never sees an unhandled-rejection crash.
 */
import type { SaveInput } from '../format/vocabulary.js';
import { InFlightLimiter, type IfBusy } from './in-flight-limiter.js';
import { snapshotSaveInput, type SaveSnapshot, type SnapshotOptions } from './snapshot.js';

/** Tensors a save got as the caller's own arrays: it writes them first and says when it is done reading them. */
export interface Deferred {
  names: ReadonlySet<string>;
  returned(): void;
}

export interface AsyncSave<R> {
  snapshotted: Promise<void>;
  committed: Promise<R>;
}

interface AsyncSaveOptions extends SnapshotOptions {
  limiter: InFlightLimiter;
  /** Default `wait`. */
  ifBusy?: IfBusy;
  /** Told the copy's duration (the training pause) once the snapshot is taken. */
  onSnapshot?: (snapshot: { bytes: number; copyMs: number; deferredBytes: number }) => void;
}

export function startAsyncSave<R>(
  input: SaveInput,
  save: (snapshotInput: SaveInput, deferred: Deferred | undefined) => Promise<R>,
  options: AsyncSaveOptions,
): AsyncSave<R> {
  const take = (release: () => void): { snapshot: SaveSnapshot; release: () => void } => {
    try {
      const snapshot = snapshotSaveInput(input, options);
      options.onSnapshot?.({ bytes: snapshot.bytes, copyMs: snapshot.copyMs, deferredBytes: snapshot.deferredBytes });
      return { snapshot, release };
    } catch (e) {
      release();
      throw e;
    }
  };
  // A free slot is taken synchronously, so the copy happens now, inside the caller's pause.
  const slot = options.limiter.tryAcquire();
  let taken: Promise<{ snapshot: SaveSnapshot; release: () => void }>;
  if (slot !== undefined) {
    try {
      taken = Promise.resolve(take(slot));
    } catch (e) {
      taken = Promise.reject(e);
    }
  } else {
    taken = options.limiter.acquire(options.ifBusy ?? 'wait').then(take);
  }
  let returned: () => void = () => undefined;
  const allReturned = new Promise<void>((resolve) => (returned = resolve));
  const committed = taken.then(async ({ snapshot, release }) => {
    try {
      return await save(snapshot.input, snapshot.deferred.size === 0 ? undefined : { names: snapshot.deferred, returned });
    } finally {
      snapshot.release();
      release();
      returned();
    }
  });
  const snapshotted = taken.then(({ snapshot }) => (snapshot.deferred.size === 0 ? undefined : allReturned));
  snapshotted.catch(() => undefined);
  // When the snapshot itself fails, the error is reported through `snapshotted`; a caller that
  // stops there must not crash on the (same) rejection of `committed`.
  taken.catch(() => committed.catch(() => undefined));
  return { snapshotted, committed };
}
