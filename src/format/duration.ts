/**
 * Durations as people write them on a command line: `90s`, `15m`, `2h`,
 * `1d`, `2w`, `1h30m`, `250ms`; a bare number is seconds. Parsed into
 * whole milliseconds; anything else is refused with the forms that are accepted.
 */
import { invalidArg } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const TERM = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)/y;

export function parseDuration(what: string, text: string): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
  let ms = 0;
  TERM.lastIndex = 0;
  let matched = 0;
  for (let m = TERM.exec(text); m !== null; m = TERM.exec(text)) {
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = TERM.lastIndex;
  }
  if (text.length === 0 || matched !== text.length || !Number.isFinite(ms)) {
    throw invalidArg(`${what} must be a duration such as 90s, 15m, 2h, 1d or 1h30m (a bare number is seconds), got ${JSON.stringify(text)}`);
  }
  if (!Number.isSafeInteger(Math.round(ms))) throw invalidArg(`${what} is too long: ${JSON.stringify(text)}`);
  return Math.round(ms);
}

/** A short human reading of `ms`: `850 ms`, `12.5 s`, `4.2 min`, `3.1 h`, `2.0 d`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}
