/**
 * The one place the training layer hands a snapshot to the store. Training
 * pauses only for an in-memory copy of the state (every tensor's bytes); the
 * write and commit continue in the background, so the loop may go on mutating
 * its own buffers at once (DESIGN §1.4, §6 "Async save").
 *
 * Contract: `checkpoint` returns `{ snapshotted, committed }`, the shape of
 * `Store.saveAsync`; it uses `saveAsync` when the store has it and otherwise
 * copies the state itself and calls `store.save`. `Checkpointer` keeps at most
 * one save in flight: a new save waits for the previous commit (back-pressure
 * instead of an unbounded queue of copies), and the first failure is rethrown
 * by the next `save` or `flush`, never swallowed.
 */
import type { Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import type { SaveInput, SaveOptions, SaveResult, Store } from '../store/types.js';

export interface CheckpointHandle {
  /** Resolves once the state has been copied: the caller may mutate it. */
  snapshotted: Promise<void>;
  /** Resolves when the checkpoint is committed (durable per the store's mode). */
  committed: Promise<SaveResult>;
}

/** The store method being added by the async-save work; used when present. */
type SaveAsync = (step: number, input: SaveInput, options?: SaveOptions) => CheckpointHandle;

/** Copies every tensor's bytes and the JSON state, so the caller may keep training. */
export function copySaveInput(input: SaveInput): SaveInput {
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(input.tensors ?? {})) tensors[name] = { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() };
  const out: SaveInput = { tensors };
  if (input.state !== undefined) out.state = structuredClone(input.state) as JsonValue;
  return out;
}

/** Starts saving `snapshot` as checkpoint `step`; see the file comment. */
export function checkpoint(store: Store, step: number, snapshot: SaveInput, options?: SaveOptions): CheckpointHandle {
  const saveAsync = (store as Store & { saveAsync?: SaveAsync }).saveAsync;
  if (typeof saveAsync === 'function') return saveAsync.call(store, step, snapshot, options);
  let copy: SaveInput;
  try {
    copy = copySaveInput(snapshot);
  } catch (e) {
    const failed = Promise.reject(e);
    failed.catch(() => undefined);
    return { snapshotted: failed, committed: failed as Promise<never> };
  }
  const committed = store.save(step, copy, options);
  // A caller that only awaits `snapshotted` must not crash the process with
  // an unhandled rejection; the failure is reported through `committed`.
  committed.catch(() => undefined);
  return { snapshotted: Promise.resolve(), committed };
}

export interface CheckpointerEvents {
  /** A save was started for `step` (its snapshot is taken). */
  onStart?: (step: number) => void;
  onCommitted?: (result: SaveResult, elapsedMs: number) => void;
}

/** Serializes background saves: at most one in flight; errors surface on the next call. */
export class Checkpointer {
  #inFlight: Promise<SaveResult> | null = null;
  #error: unknown = null;
  #failed = false;

  constructor(
    private readonly store: Store,
    private readonly events: CheckpointerEvents = {},
    private readonly options: SaveOptions = {},
  ) {}

  /**
   * Waits for the previous save to commit, then snapshots `input` and starts
   * saving it; resolves once the snapshot is taken (not when committed).
   * @throws the error of an earlier failed save.
   */
  async save(step: number, input: SaveInput): Promise<void> {
    await this.#drain();
    const started = Date.now();
    const handle = checkpoint(this.store, step, input, this.options);
    await handle.snapshotted;
    this.events.onStart?.(step);
    this.#inFlight = handle.committed.then(
      (result) => {
        this.events.onCommitted?.(result, Date.now() - started);
        return result;
      },
      (e: unknown) => {
        if (!this.#failed) {
          this.#failed = true;
          this.#error = e;
        }
        throw e;
      },
    );
    this.#inFlight.catch(() => undefined);
  }

  /**
   * Waits until no save is in flight.
   * @throws the error of a failed save.
   */
  async flush(): Promise<void> {
    await this.#drain();
  }

  async #drain(): Promise<void> {
    const pending = this.#inFlight;
    this.#inFlight = null;
    if (pending !== null) await pending.catch(() => undefined);
    if (this.#failed) throw this.#error;
  }
}
