/**
 * The one place the training layer hands a snapshot to the store. Training
 * pauses only for `saveAsync`'s in-memory copy of the state (every tensor's
 * bytes into staging memory); the write and commit continue in the
 * background, so the loop may go on mutating its own buffers at once
 * (DESIGN §1.4, §6 "Async save").
 *
 * Contract: `checkpoint` is `saveAsync` (returns `{ snapshotted, committed }`).
 * `Checkpointer` adds what a loop wants around it: at most one save in
 * flight (a new save waits for the previous commit: back-pressure instead of
 * a queue of copies), events for progress lines, and the first failure
 * rethrown by the next `save` or `flush`, never swallowed.
 */
import type { AsyncSaveHandle, SaveAsyncOptions, SaveInput, SaveResult, Store } from '../store/types.js';

export type CheckpointHandle = AsyncSaveHandle;

/** Starts saving `snapshot` as checkpoint `step` in the background. */
export function checkpoint(store: Store, step: number, snapshot: SaveInput, options?: SaveAsyncOptions): CheckpointHandle {
  return store.saveAsync(step, snapshot, options);
}

interface CheckpointerEvents {
  /**
   * The state of `step` was copied. The training loop paused `waitMs` for the
   * previous save to commit (0 unless saves come faster than the disk) plus
   * `copyMs` for the copy.
   */
  onSnapshot?: (step: number, info: { copyMs: number; waitMs: number; bytes: number }) => void;
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
    private readonly options: SaveAsyncOptions = {},
  ) {}

  /**
   * Waits for the previous save to commit, then snapshots `input` and starts
   * saving it; resolves once the snapshot is taken (not when committed).
   * @throws the error of an earlier failed save, or of this one's snapshot.
   */
  async save(step: number, input: SaveInput): Promise<void> {
    const waitStarted = performance.now();
    await this.#drain();
    const waitMs = performance.now() - waitStarted;
    const started = Date.now();
    const handle = checkpoint(this.store, step, input, {
      ...this.options,
      onSnapshot: ({ bytes, copyMs }) => this.events.onSnapshot?.(step, { copyMs, waitMs, bytes }),
    });
    const inFlight: Promise<SaveResult> = handle.committed.then(
      (result) => {
        if (this.#inFlight === inFlight) this.#inFlight = null;
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
    this.#inFlight = inFlight;
    inFlight.catch(() => undefined);
    await handle.snapshotted;
  }

  /** A save is in flight (the loop may want to give it I/O time). */
  get busy(): boolean {
    return this.#inFlight !== null;
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
