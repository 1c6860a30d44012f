/**
 * Canonical JSON (RFC 8785 style), the byte string `manifestHash` is computed
 * over, so that re-indenting or re-ordering the keys of a manifest does not
 * change its hash. Rules: no whitespace; object keys sorted by UTF-16 code
 * units (JavaScript's default string order, as RFC 8785 §3.2.3 asks); strings
 * and numbers serialized by `JSON.stringify`, whose ECMAScript number format
 * is the one RFC 8785 prescribes. Object members whose value is `undefined`
 * are omitted, as `JSON.stringify` omits them, so an in-memory manifest and
 * the same manifest read back from disk hash alike. Anything JSON cannot carry
 * exactly (non-finite numbers, `undefined` in an array or at the top, bigint,
 * functions, class instances such as Date, cycles) throws `HF_INVALID_ARG`
 * naming where it sits: hashing a lossy rendering would be a silent lie.
 */
import { invalidArg } from '../errors.js';

export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', out, new Set());
  return out.join('');
}

function write(value: unknown, where: string, out: string[], ancestors: Set<object>): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalidArg(`canonical JSON: ${where} is ${value}; JSON has no non-finite numbers`);
      out.push(JSON.stringify(value));
      return;
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'object':
      writeContainer(value, where, out, ancestors);
      return;
    default:
      throw invalidArg(`canonical JSON: ${where} is a ${typeof value}, which JSON cannot represent`);
  }
}

function writeContainer(value: object, where: string, out: string[], ancestors: Set<object>): void {
  if (ancestors.has(value)) throw invalidArg(`canonical JSON: ${where} refers back to one of its ancestors (a cycle)`);
  ancestors.add(value);
  if (Array.isArray(value)) writeArray(value, where, out, ancestors);
  else writeObject(value, where, out, ancestors);
  ancestors.delete(value);
}

function writeArray(items: unknown[], where: string, out: string[], ancestors: Set<object>): void {
  out.push('[');
  items.forEach((item, i) => {
    if (i > 0) out.push(',');
    if (item === undefined) throw invalidArg(`canonical JSON: ${where}[${i}] is undefined`);
    write(item, `${where}[${i}]`, out, ancestors);
  });
  out.push(']');
}

function writeObject(obj: object, where: string, out: string[], ancestors: Set<object>): void {
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    throw invalidArg(`canonical JSON: ${where} is a ${obj.constructor?.name ?? 'non-plain object'}, not a plain object`);
  }
  const record = obj as Record<string, unknown>;
  // Default sort compares UTF-16 code units, exactly the RFC 8785 order.
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
  out.push('{');
  keys.forEach((key, i) => {
    if (i > 0) out.push(',');
    out.push(JSON.stringify(key), ':');
    write(record[key], `${where}[${JSON.stringify(key)}]`, out, ancestors);
  });
  out.push('}');
}
