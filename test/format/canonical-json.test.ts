import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson } from '../../src/format/canonical-json.js';
import { expectError } from './fixtures.js';

describe('canonicalJson', () => {
  test('sorts keys by UTF-16 code units, recursively, without whitespace', () => {
    const value = { b: 1, a: { z: [3, { y: 1, x: 2 }], '': null }, A: true, aa: 'x' };
    assert.equal(canonicalJson(value), '{"A":true,"a":{"":null,"z":[3,{"x":2,"y":1}]},"aa":"x","b":1}');
  });

  test('orders astral characters by code unit, not code point (RFC 8785 §3.2.3)', () => {
    // U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FFFF though its code point is larger.
    assert.equal(canonicalJson({ '\uffff': 1, '\u{1f600}': 2, é: 3, '\r': 4, '1': 5 }), '{"\\r":4,"1":5,"é":3,"😀":2,"\uffff":1}');
  });

  test('numbers and strings as JSON.stringify writes them (ECMAScript = RFC 8785 form)', () => {
    assert.equal(canonicalJson([1e21, 1e-7, 0.000001, -0, 333333333.3333333, 5e-324, 1.5, 100]), '[1e+21,1e-7,0.000001,0,333333333.3333333,5e-324,1.5,100]');
    assert.equal(canonicalJson('\u2028"\\\u0001é/'), '"\u2028\\"\\\\\\u0001é/"');
  });

  test('is independent of key insertion order', () => {
    assert.equal(canonicalJson({ x: 1, y: { p: 1, q: 2 } }), canonicalJson({ y: { q: 2, p: 1 }, x: 1 }));
  });

  test('omits undefined members, as JSON.stringify does', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  });

  test('keeps a __proto__ own key', () => {
    const v = JSON.parse('{"__proto__":1,"a":2}');
    assert.equal(canonicalJson(v), '{"__proto__":1,"a":2}');
  });

  test('refuses what JSON cannot carry exactly, naming where', () => {
    expectError(() => canonicalJson({ a: [1, Number.NaN] }), 'HF_INVALID_ARG', '$["a"][1]', 'NaN');
    expectError(() => canonicalJson({ a: Infinity }), 'HF_INVALID_ARG', 'Infinity');
    expectError(() => canonicalJson([undefined]), 'HF_INVALID_ARG', '$[0] is undefined');
    expectError(() => canonicalJson(undefined), 'HF_INVALID_ARG');
    expectError(() => canonicalJson({ n: 1n }), 'HF_INVALID_ARG', 'bigint');
    expectError(() => canonicalJson({ d: new Date(0) }), 'HF_INVALID_ARG', 'Date');
    expectError(() => canonicalJson({ f: () => 1 }), 'HF_INVALID_ARG', 'function');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectError(() => canonicalJson(cyclic), 'HF_INVALID_ARG', 'cycle');
  });

  test('a shared (non-cyclic) object may appear twice', () => {
    const shared = { k: 1 };
    assert.equal(canonicalJson({ a: shared, b: [shared] }), '{"a":{"k":1},"b":[{"k":1}]}');
  });
});
