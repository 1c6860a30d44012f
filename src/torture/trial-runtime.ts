/**
 * One `IoRuntime` for every store the in-process campaigns open: a campaign
 * opens a store per trial (thousands), and a runtime per store would start,
 * and keep until `close()`, hashing workers of its own for each (measured:
 * `torture ioerror --full` ran out of memory at 85 % that way). Its workers
 * are unref'd while idle, so the process still exits by itself.
 */
import { IoRuntime } from '../io/io-runtime.js';

let shared: IoRuntime | undefined;

export function trialRuntime(): IoRuntime {
  if (shared === undefined || shared.closed) shared = new IoRuntime();
  return shared;
}
