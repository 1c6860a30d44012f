/**
 * What a manifest's `state` may hold: exactly the JSON values that survive a
 * write and a strict read unchanged. Used by the manifest's schema check
 * (readers, HF_FORMAT) and by the save-time limits (writers, HF_INVALID_ARG),
 * so both sides apply one rule. Refused: non-finite numbers, `undefined` in
 * an array, bigint, functions, class instances, containers nested deeper
 * than `maxDepth` (the strict parser's cap, less the levels above `state`),
 * and integers beyond ±(2^53 − 1) below 1e21: `JSON.stringify` writes those
 * as plain digits, which the strict parser refuses because they cannot be
 * read back exactly (above 1e21 it writes an exponent, which is read as the
 * same double).
 */
import type { FieldChecker } from './field-checks.js';

/** `JSON.stringify` switches to exponent notation at this magnitude (ECMA-262 Number::toString). */
const PLAIN_DIGITS_BELOW = 1e21;

export function checkJsonValue(c: FieldChecker, v: unknown, where: string, maxDepth: number): void {
  checkAt(c, v, where, maxDepth, 1);
}

/** `level` is the nesting level `v` would have if it is a container (state itself is level 1). */
function checkAt(c: FieldChecker, v: unknown, where: string, maxDepth: number, level: number): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) c.expected(where, 'a finite number', v);
    if (!Number.isSafeInteger(v) && Number.isInteger(v) && Math.abs(v) < PLAIN_DIGITS_BELOW) {
      c.fail(where, `integer ${v} is outside ±(2^53 - 1): readers refuse it because it cannot be read back exactly (store it as a string)`);
    }
    return;
  }
  if (typeof v === 'object' && level > maxDepth) c.fail(where, `nested deeper than ${maxDepth} levels (the most readers accept here)`);
  if (Array.isArray(v)) {
    v.forEach((item, i) => checkAt(c, item, `${where}[${i}]`, maxDepth, level + 1));
    return;
  }
  const proto: unknown = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (proto !== Object.prototype && proto !== null) c.expected(where, 'a JSON value', v);
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    // An undefined member is omitted on encoding (and from the hash), like an absent one.
    if (obj[key] !== undefined) checkAt(c, obj[key], `${where}[${JSON.stringify(key)}]`, maxDepth, level + 1);
  }
}
