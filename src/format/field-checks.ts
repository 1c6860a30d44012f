/**
 * Type checks for documents parsed from disk (manifests, safetensors
 * headers). A `FieldChecker` knows which file it is reading and turns each
 * failed check into one `HoldfastError` (HF_FORMAT unless told otherwise)
 * whose message reads "<subject>: <where>: expected <x>, found <y>", so an
 * operator can find the offending field without a debugger. Checks return the
 * value narrowed to its type; they never coerce.
 */
import { HoldfastError, type HoldfastErrorCode } from '../errors.js';

/** A short, safe rendering of a value for an error message. */
export function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') return `a ${typeof v}`;
  if (Array.isArray(v)) return v.length <= 8 && v.every((x) => typeof x !== 'object') ? JSON.stringify(v) : `an array of ${v.length}`;
  if (v !== null && typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export class FieldChecker {
  constructor(
    /** Names the document: "manifest /ckpt-…/manifest.json". */
    readonly subject: string,
    /** The file, recorded on the error (none for in-memory input such as a save's state). */
    readonly path: string | undefined,
    readonly code: HoldfastErrorCode = 'HF_FORMAT',
  ) {}

  fail(where: string, message: string, data?: Record<string, unknown>): never {
    const at = where === '' ? '' : `${where}: `;
    throw new HoldfastError(this.code, `${this.subject}: ${at}${message}`, { path: this.path, data: { where, ...data } });
  }

  expected(where: string, expectation: string, found: unknown): never {
    return this.fail(where, `expected ${expectation}, found ${describeFound(found)}`);
  }

  object(v: unknown, where: string): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.expected(where, 'an object', v);
    return v as Record<string, unknown>;
  }

  /** Every `required` key present, nothing outside `required` and `optional`. */
  keys(obj: Record<string, unknown>, where: string, required: readonly string[], optional: readonly string[] = [], unknownHint = ''): void {
    for (const key of required) {
      if (!Object.hasOwn(obj, key)) this.fail(where, `missing field ${JSON.stringify(key)}`);
    }
    for (const key of Object.keys(obj)) {
      if (!required.includes(key) && !optional.includes(key)) this.fail(where, `unknown field ${JSON.stringify(key)}${unknownHint}`);
    }
  }

  string(v: unknown, where: string): string {
    if (typeof v !== 'string') this.expected(where, 'a string', v);
    return v as string;
  }

  /** A safe integer (exactly representable; JSON above 2^53 loses precision) >= min. */
  safeInt(v: unknown, where: string, min = 0): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.expected(where, `a safe integer >= ${min}`, v);
    return v as number;
  }

  array(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.expected(where, 'an array', v);
    return v as unknown[];
  }

  /** A tensor shape: safe non-negative integers whose product is also safe. */
  shape(v: unknown, where: string): number[] {
    const dims = this.array(v, where).map((d, i) => this.safeInt(d, `${where}[${i}]`));
    let count = 1;
    for (const d of dims) {
      count *= d;
      if (!Number.isSafeInteger(count)) this.fail(where, `shape ${describeFound(dims)} has more than 2^53 elements`);
    }
    return dims;
  }

  /** `[begin, end]` safe integers with begin <= end. */
  range(v: unknown, where: string): [number, number] {
    const a = this.array(v, where);
    if (a.length !== 2) this.expected(where, '[begin, end]', v);
    const begin = this.safeInt(a[0], `${where}[0]`);
    const end = this.safeInt(a[1], `${where}[1]`);
    if (end < begin) this.expected(where, '[begin, end] with end >= begin', v);
    return [begin, end];
  }

  oneOf<T extends string>(v: unknown, where: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.expected(where, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, v);
    }
    return v as T;
  }
}
