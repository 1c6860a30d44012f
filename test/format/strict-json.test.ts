import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeUtf8Strict, parseStrictJson } from '../../src/format/strict-json.js';
import { expectError } from './fixtures.js';

const P = '/store/ckpt-000000000001/manifest.json';
const parse = (text: string, maxDepth?: number): unknown => parseStrictJson(text, 'manifest', P, maxDepth === undefined ? {} : { maxDepth });

const VALID = [
  '0', '-0', '1.5e+10', '-12.25E-3', '1e300', '"\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/\\b\\f\\r\\t"', 'true', 'false', 'null',
  ' \t\r\n{"a":[1,{"b":null}],"c":"d"} \n', '[]', '{}', '[[],[{}]]', '"é😀 raw unicode"', '"\\udc00 lone surrogate escape"',
  '{"":1,"a b":2}', '[1,2,3,"x",true]',
];
const INVALID = [
  '', ' ', '{', '[1,]', '{"a":1,}', "{'a':1}", '{a:1}', '01', '1.', '.5', '+1', '-', '1e', 'NaN', 'Infinity', 'tru', 'nul',
  '"abc', '"\\x41"', '"\\u12"', '"a\u0001b"', '"tab\there"', '[1 2]', '{"a" 1}', '{"a":1 "b":2}', '// c\n{}', '{} {}', '\ufeff{}',
  '[1]]', '"\\u00zz"', '{"a":}', '\u00a0{}',
];

describe('parseStrictJson', () => {
  test('agrees with JSON.parse on valid JSON', () => {
    for (const text of VALID) assert.deepEqual(parse(text), JSON.parse(text), text);
  });

  test('rejects, as HF_FORMAT naming the file and position, everything JSON.parse rejects', () => {
    for (const text of INVALID) {
      assert.throws(() => JSON.parse(text), SyntaxError, `JSON.parse accepts ${JSON.stringify(text)}?`);
      expectError(() => parse(text), 'HF_FORMAT', `manifest ${P}: invalid JSON at line `);
    }
  });

  test('rejects duplicate keys, at any depth, with the key and position', () => {
    expectError(() => parse('{"a":1,"a":2}'), 'HF_FORMAT', P, 'duplicate key "a"', 'line 1 column 8');
    expectError(() => parse('{"x":[{"k":1,\n "k":1}]}'), 'HF_FORMAT', 'duplicate key "k"', 'line 2 column 2');
    expectError(() => parse('{"\\u0061":1,"a":2}'), 'HF_FORMAT', 'duplicate key "a"');
    assert.deepEqual(parse('[{"a":1},{"a":2}]'), [{ a: 1 }, { a: 2 }]);
  });

  test('allows nesting to maxDepth and refuses one level more', () => {
    const nest = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    assert.deepEqual(parse(nest(64)), JSON.parse(nest(64)));
    expectError(() => parse(nest(65)), 'HF_FORMAT', 'nesting deeper than 64 levels');
    assert.deepEqual(parse('{"a":{"b":1}}', 2), { a: { b: 1 } });
    expectError(() => parse('{"a":{"b":{}}}', 2), 'HF_FORMAT', 'nesting deeper than 2');
    // Deep input fails cleanly instead of overflowing the stack.
    expectError(() => parse(nest(100_000)), 'HF_FORMAT', 'nesting');
    expectError(() => parse('[]', 0), 'HF_INVALID_ARG');
  });

  test('refuses numbers that overflow to Infinity', () => {
    expectError(() => parse('{"size":1e400}'), 'HF_FORMAT', 'out of range');
    expectError(() => parse('-1e400'), 'HF_FORMAT', 'out of range');
  });

  // JSON.parse rounds 9007199254740993 to 9007199254740992: an offset would silently become another one.
  test('refuses integers outside ±(2^53 - 1) instead of rounding them, naming the literal', () => {
    expectError(() => parse('{"end":9007199254740993}'), 'HF_FORMAT', P, 'integer 9007199254740993 is outside', 'line 1 column 8');
    expectError(() => parse('[-9007199254740992]'), 'HF_FORMAT', 'integer -9007199254740992');
    expectError(() => parse('100000000000000000000'), 'HF_FORMAT', 'cannot be read exactly');
    assert.deepEqual(parse('[9007199254740991,-9007199254740991,1e20,1.5e300]'), [2 ** 53 - 1, -(2 ** 53 - 1), 1e20, 1.5e300]);
  });

  test('canonicalNumbers: every number must be written as JSON.stringify writes it', () => {
    const canonical = (text: string): unknown => parseStrictJson(text, 'safetensors header', P, { canonicalNumbers: true });
    for (const text of ['[1e3]', '[1.0]', '[-0]', '[1E+21]', '[0.10]', '[1E-7]', '[100e-2]']) {
      expectError(() => canonical(text), 'HF_FORMAT', P, 'not written in canonical form', `expected ${JSON.stringify(JSON.parse(text)[0])}`);
    }
    for (const v of [0, 1000, -7, 0.1, 1.5, 1e21, 1e-7, 2 ** 53 - 1, 123.456e-10]) assert.deepEqual(canonical(JSON.stringify([v])), [v]);
    assert.deepEqual(parse('[1e3,-0,1.0]'), [1000, -0, 1]);
  });

  test('keeps __proto__ as an ordinary key, polluting nothing', () => {
    const v = parse('{"__proto__":{"polluted":true},"constructor":1}') as Record<string, unknown>;
    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.deepEqual(Object.keys(v), ['__proto__', 'constructor']);
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal((v as { polluted?: boolean }).polluted, undefined);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    expectError(() => parse('{"__proto__":1,"__proto__":2}'), 'HF_FORMAT', 'duplicate key "__proto__"');
  });

  test('names only the subject when there is no path', () => {
    expectError(() => parseStrictJson('[', 'store descriptor'), 'HF_FORMAT', 'store descriptor: invalid JSON at line 1 column 2');
  });

  test('differential: random edits of valid JSON are accepted or refused exactly as JSON.parse does', () => {
    let seed = 0x5eed;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = '{}[],:"\\ 0123456789.eE+-tfnulrasx\n\u0001é';
    const bases = [...VALID.filter((t) => t !== ''), '{"a":[1,2,{"b":"c"}],"d":-1.5e3,"e":[true,false,null]}'];
    for (let i = 0; i < 5000; i++) {
      const base = bases[rand(bases.length)]!;
      const at = rand(base.length + 1);
      const edit = rand(3);
      const ch = alphabet[rand(alphabet.length)]!;
      const text = edit === 0 ? base.slice(0, at) + ch + base.slice(at) : edit === 1 ? base.slice(0, at) + base.slice(at + 1) : base.slice(0, at) + ch + base.slice(at + 1);
      let expected: unknown;
      let nativeOk = true;
      try {
        expected = JSON.parse(text);
      } catch {
        nativeOk = false;
      }
      let ours: unknown;
      let oursError: Error | undefined;
      try {
        ours = parse(text);
      } catch (e) {
        oursError = e as Error;
      }
      if (!nativeOk) assert.ok(oursError, `accepted what JSON.parse refuses: ${JSON.stringify(text)}`);
      else if (oursError) assert.match(oursError.message, /duplicate key|out of range|cannot be read exactly/, `refused valid ${JSON.stringify(text)}: ${oursError.message}`);
      else assert.deepEqual(ours, expected, text);
    }
  });
});

describe('decodeUtf8Strict', () => {
  test('decodes valid UTF-8', () => {
    assert.equal(decodeUtf8Strict(new TextEncoder().encode('é😀'), 'manifest', P), 'é😀');
  });
  test('refuses invalid, overlong and surrogate encodings as HF_FORMAT naming the file', () => {
    for (const bytes of [[0xff], [0x61, 0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      expectError(() => decodeUtf8Strict(new Uint8Array(bytes), 'manifest', P), 'HF_FORMAT', `manifest ${P}: not valid UTF-8`);
    }
  });
  test('keeps a byte order mark, so the JSON parser refuses it like JSON.parse', () => {
    const text = decodeUtf8Strict(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 'manifest', P);
    assert.equal(text, '\ufeff{}');
    expectError(() => parse(text), 'HF_FORMAT');
  });
});
