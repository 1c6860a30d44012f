/**
 * Strict JSON for files Holdfast reads back. `parseStrictJson` accepts exactly
 * the texts `JSON.parse` accepts (RFC 8259; whitespace is space, tab, LF, CR)
 * and returns the same value, but also refuses three things `JSON.parse`
 * lets through: an object with the same key twice (`JSON.parse` silently keeps
 * the last, so two readers of one file could disagree on its meaning),
 * nesting deeper than `maxDepth` arrays/objects (default `JSON_MAX_DEPTH`;
 * bounds recursion and memory on hostile input), a number that overflows to
 * ±Infinity (no Holdfast field can hold it and canonical JSON cannot encode
 * it), and an integer written in plain digits outside ±(2^53 − 1):
 * `JSON.parse` rounds 9007199254740993 to 9007199254740992, so an offset or
 * size would silently read as another value. With `canonicalNumbers`
 * (manifests and safetensors headers) every number must be written exactly as
 * `JSON.stringify` writes its value: `1e3`, `1.0`, `-0` and `1E+21` are
 * refused, so an integer field is always plain digits. Keys such as
 * `__proto__` become ordinary own properties, as with `JSON.parse`. Every
 * refusal is a `HoldfastError` `HF_FORMAT` naming what was parsed, its path
 * and the line/column. `decodeUtf8Strict` turns bytes into text, refusing
 * invalid UTF-8 instead of substituting U+FFFD.
 */
import { formatError, invalidArg } from '../errors.js';
import { JSON_MAX_DEPTH } from './limits.js';

interface StrictJsonLimits {
  /** Deepest allowed nesting of arrays/objects; the top-level container is depth 1. */
  maxDepth?: number;
  /** Every number must be written as `JSON.stringify` writes its value (so integers as plain digits). */
  canonicalNumbers?: boolean;
}

/** "manifest /x/manifest.json", or just "manifest" when there is no file. */
function subjectOf(what: string, path: string | undefined): string {
  return path === undefined ? what : `${what} ${path}`;
}

// fatal: a replacement character would let two different byte strings decode
// to one text. ignoreBOM: keep a BOM in the text so the parser refuses it, as
// JSON.parse does, rather than silently dropping bytes.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8Strict(bytes: Uint8Array, what: string, path?: string): string {
  try {
    return UTF8.decode(bytes);
  } catch (cause) {
    throw formatError(`${subjectOf(what, path)}: not valid UTF-8`, { path, cause });
  }
}

export function parseStrictJson(text: string, what: string, path?: string, limits: StrictJsonLimits = {}): unknown {
  const maxDepth = limits.maxDepth ?? JSON_MAX_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) throw invalidArg(`maxDepth must be an integer >= 1, got ${maxDepth}`);
  return new StrictJsonParser(text, subjectOf(what, path), path, maxDepth, limits.canonicalNumbers === true).document();
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class StrictJsonParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly subject: string,
    private readonly path: string | undefined,
    private readonly maxDepth: number,
    private readonly canonicalNumbers: boolean,
  ) {}

  document(): unknown {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('unexpected data after the JSON value');
    return value;
  }

  private value(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x22) return this.string();
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail(Number.isNaN(c) ? 'unexpected end of input' : `unexpected character ${this.describeAt(this.pos)}`);
  }

  private object(depth: number): Record<string, unknown> {
    this.enter(depth);
    const out: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.eat(0x7d)) return out;
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a string key');
      const keyPos = this.pos;
      const key = this.string();
      if (Object.hasOwn(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyPos);
      this.skipWhitespace();
      if (!this.eat(0x3a)) this.fail("expected ':' after the key");
      this.skipWhitespace();
      // defineProperty, not assignment: a "__proto__" key must be data, never a prototype swap.
      Object.defineProperty(out, key, { value: this.value(depth), enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      if (this.eat(0x2c)) continue;
      if (this.eat(0x7d)) return out;
      this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): unknown[] {
    this.enter(depth);
    const out: unknown[] = [];
    this.skipWhitespace();
    if (this.eat(0x5d)) return out;
    for (;;) {
      this.skipWhitespace();
      out.push(this.value(depth));
      this.skipWhitespace();
      if (this.eat(0x2c)) continue;
      if (this.eat(0x5d)) return out;
      this.fail("expected ',' or ']'");
    }
  }

  private string(): string {
    const t = this.text;
    let out = '';
    let runStart = this.pos + 1;
    for (let i = runStart; ; ) {
      if (i >= t.length) this.fail('unterminated string', i);
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return out + t.slice(runStart, i);
      }
      if (c < 0x20) this.fail('unescaped control character in string', i);
      if (c === 0x5c) {
        out += t.slice(runStart, i) + this.escape(i);
        i += t.charCodeAt(i + 1) === 0x75 ? 6 : 2;
        runStart = i;
      } else {
        i++;
      }
    }
  }

  private escape(at: number): string {
    const e = this.text.charAt(at + 1);
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined && Object.hasOwn(SIMPLE_ESCAPES, e)) return simple;
    const hex = this.text.slice(at + 2, at + 6);
    if (e === 'u' && HEX4.test(hex)) return String.fromCharCode(parseInt(hex, 16));
    return this.fail(`invalid escape ${JSON.stringify(this.text.slice(at, at + (e === 'u' ? 6 : 2)))}`, at);
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) return this.fail('invalid number');
    const literal = m[0];
    const shown = literal.length > 40 ? `${literal.slice(0, 40)}…` : literal;
    const n = Number(literal);
    if (!Number.isFinite(n)) this.fail(`number ${shown} is out of range`);
    if (INTEGER.test(literal) && !Number.isSafeInteger(n)) {
      this.fail(`integer ${shown} is outside ±(2^53 - 1) and cannot be read exactly`);
    }
    if (this.canonicalNumbers && JSON.stringify(n) !== literal) {
      this.fail(`number ${shown} is not written in canonical form: expected ${JSON.stringify(n)}`);
    }
    this.pos += literal.length;
    return n;
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`unexpected character ${this.describeAt(this.pos)}`);
    this.pos += word.length;
    return value;
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    this.pos++; // past '{' or '['
  }

  private eat(c: number): boolean {
    if (this.text.charCodeAt(this.pos) !== c) return false;
    this.pos++;
    return true;
  }

  private skipWhitespace(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private describeAt(at: number): string {
    if (at >= this.text.length) return 'end of input';
    const cp = this.text.codePointAt(at) ?? 0;
    return `${JSON.stringify(String.fromCodePoint(cp))} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
  }

  private fail(message: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw formatError(`${this.subject}: invalid JSON at line ${line} column ${column}: ${message}`, {
      path: this.path,
      data: { offset: at, line, column },
    });
  }
}
