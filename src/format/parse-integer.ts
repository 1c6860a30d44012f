/**
 * A whole number given as text (a CLI option, a demo flag): digits only, a
 * safe integer, at least `min`. Checked at the edge so what lies behind it
 * only ever sees safe integers; the error names the option and the text.
 */
import { invalidArg } from '../errors.js';

export function parseInteger(what: string, text: string, min = 0): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    const kind = min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw invalidArg(`${what} must be ${kind}, got ${JSON.stringify(text)}`);
  }
  return n;
}
