/**
 * At most `maxInFlight` asynchronous saves at once (default 1): each holds
 * staging memory the size of the state, and two saves racing for the same
 * disk only make both slower. Contract: `acquire('wait')` resolves with a
 * release function once a slot is free (FIFO); `acquire('refuse')` rejects at
 * once with HF_BUSY when none is. Calling a release twice is harmless.
 */
import { HoldfastError } from '../errors.js';

export type IfBusy = 'wait' | 'refuse';

export class InFlightLimiter {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(readonly maxInFlight = 1) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new HoldfastError('HF_INVALID_ARG', `maxInFlight must be a positive integer, got ${maxInFlight}`);
    }
  }

  get inFlight(): number {
    return this.active;
  }

  /** True when `acquire` would be granted without waiting. */
  get available(): boolean {
    return this.active < this.maxInFlight;
  }

  /** A slot now, synchronously, or undefined when none is free. */
  tryAcquire(): (() => void) | undefined {
    return this.active < this.maxInFlight ? this.grant() : undefined;
  }

  acquire(ifBusy: IfBusy = 'wait'): Promise<() => void> {
    if (this.active < this.maxInFlight) return Promise.resolve(this.grant());
    if (ifBusy === 'refuse') {
      return Promise.reject(
        new HoldfastError('HF_BUSY', `a save is already in flight (${this.active} of at most ${this.maxInFlight})`, {
          data: { inFlight: this.active, maxInFlight: this.maxInFlight },
        }),
      );
    }
    return new Promise((resolve) => this.waiters.push(() => resolve(this.grant())));
  }

  /** Resolves when no save is in flight (for shutdown and tests). */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private grant(): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      const next = this.waiters.shift();
      if (next !== undefined) next();
      else if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
  }
}
