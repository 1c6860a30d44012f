/** Durations on the command line: `90s`, `30m`, `12h`, `7d`, `2w`, combined as `1d12h`, or `500ms`. */
import { invalidArg } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION_RE = /^(?:\d+(?:ms|s|m|h|d|w))+$/;

export function parseDuration(what: string, text: string): number {
  if (!DURATION_RE.test(text)) throw invalidArg(`${what} must be a duration such as 90s, 30m, 12h, 7d, 2w or 1d12h, got ${JSON.stringify(text)}`);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (!Number.isSafeInteger(ms)) throw invalidArg(`${what} is too long: ${JSON.stringify(text)}`);
  return ms;
}
