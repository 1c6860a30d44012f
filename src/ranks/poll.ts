/**
 * Waiting on the storage with a deadline: check, back off, check again. The
 * deadline is this process's monotonic clock only, so hosts whose clocks
 * disagree still wait as long as they were told.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const FIRST_DELAY_MS = 10;
const MAX_DELAY_MS = 250;

/** The first defined value `check` returns, or undefined once `deadlineMs` (from now) has passed. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, deadlineMs: number): Promise<T | undefined> {
  const until = performance.now() + deadlineMs;
  let delay = FIRST_DELAY_MS;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    const left = until - performance.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 1.5, MAX_DELAY_MS);
  }
}
