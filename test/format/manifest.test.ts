import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  computeManifestHash,
  encodeManifest,
  parseManifest,
  sealManifest,
  validateManifest,
} from '../../src/format/manifest.js';
import { STATE_MAX_DEPTH } from '../../src/format/limits.js';
import type { Manifest } from '../../src/format/manifest-types.js';
import { MANIFEST_PATH, encodeJson, expectError, resealed, unsealedManifest } from './fixtures.js';

type Mutable = Record<string, any>;

/** The sample manifest, changed by `mutate`, re-hashed so only the change can be the problem. */
function mutated(mutate: (m: Mutable) => void): Uint8Array {
  const m = structuredClone(sealManifest(unsealedManifest())) as Mutable;
  mutate(m);
  return encodeJson(resealed(m), 2);
}

function rejects(mutate: (m: Mutable) => void, code: 'HF_FORMAT' | 'HF_CORRUPT', ...mentions: string[]): void {
  expectError(() => parseManifest(mutated(mutate), MANIFEST_PATH), code, MANIFEST_PATH, ...mentions);
}

/** Re-serializes with every object's keys reversed. */
function reverseKeys(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(reverseKeys);
  if (x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.entries(x).reverse().map(([k, v]) => [k, reverseKeys(v)]));
}

describe('manifest round trip', () => {
  test('sealManifest → encodeManifest → parseManifest returns the same manifest', () => {
    const m = sealManifest(unsealedManifest());
    assert.match(m.manifestHash, /^sha256:[0-9a-f]{64}$/);
    const bytes = encodeManifest(m);
    const text = new TextDecoder().decode(bytes);
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.includes('\n  "format": "holdfast",\n'), 'pretty-printed with 2-space indent');
    assert.deepEqual(parseManifest(bytes, MANIFEST_PATH), m);
  });

  test('re-ordered keys and different whitespace keep the manifest valid', () => {
    const m = sealManifest(unsealedManifest());
    const compact = encodeJson(reverseKeys(m));
    assert.deepEqual(parseManifest(compact, MANIFEST_PATH), reverseKeys(m));
    const spaced = new TextEncoder().encode(JSON.stringify(reverseKeys(m), null, '\t').replaceAll('\n', '\r\n   '));
    assert.equal(computeManifestHash(parseManifest(spaced, MANIFEST_PATH)), m.manifestHash);
  });

  test('the hash covers every field but manifestHash, whatever the key order', () => {
    const m = sealManifest(unsealedManifest());
    assert.equal(computeManifestHash(m), m.manifestHash);
    assert.equal(computeManifestHash(reverseKeys(m) as Manifest), m.manifestHash);
    assert.notEqual(computeManifestHash({ ...m, step: 43 }), m.manifestHash);
    assert.notEqual(computeManifestHash({ ...m, state: { lr: 0.002 } }), m.manifestHash);
  });

  test('undefined optional provenance fields are the same as absent ones', () => {
    const base = unsealedManifest();
    const withUndefined = { ...base, provenance: { ...base.provenance, configHash: undefined } };
    const m = sealManifest(withUndefined);
    assert.equal(m.manifestHash, sealManifest(base).manifestHash);
    assert.equal(parseManifest(encodeManifest(m), MANIFEST_PATH).manifestHash, m.manifestHash);
  });

  test('a tensor named __proto__ is an ordinary tensor, and pollutes nothing', () => {
    const m = mutated((x) => {
      // Defined, not assigned: assignment would set the prototype instead.
      Object.defineProperty(x.tensors, '__proto__', { value: x.tensors.b, enumerable: true, writable: true, configurable: true });
      delete x.tensors.b;
    });
    const parsed = parseManifest(m, MANIFEST_PATH);
    assert.ok(Object.hasOwn(parsed.tensors, '__proto__'));
    assert.equal(Object.getPrototypeOf(parsed.tensors), Object.prototype);
    assert.deepEqual(Object.keys(parsed.tensors).sort(), ['__proto__', 'step', 'w']);
    assert.equal(({} as Record<string, unknown>).dtype, undefined);
  });

  test('tiled layouts beyond one slab per tensor: a 2×2 grid of slabs', () => {
    const m = unsealedManifest();
    m.tensors.w!.slabs = [
      { file: 'r0000-p000.safetensors', byteRange: [4096, 4112], offset: [0, 0], shape: [2, 2] },
      { file: 'r0000-p000.safetensors', byteRange: [4112, 4128], offset: [0, 2], shape: [2, 2] },
      { file: 'r0001-p000.safetensors', byteRange: [4096, 4112], offset: [2, 0], shape: [2, 2] },
      { file: 'r0001-p000.safetensors', byteRange: [4112, 4128], offset: [2, 2], shape: [2, 2] },
    ];
    assert.equal(parseManifest(encodeManifest(sealManifest(m)), MANIFEST_PATH).tensors.w!.slabs.length, 4);
  });
});

describe('parseManifest refuses', () => {
  test('a file path with ".."', () => rejects((m) => (m.files[2].path = 'extra/../../evil'), 'HF_FORMAT', 'files[2].path', '".." segment'));
  test('an absolute file path', () => rejects((m) => (m.files[2].path = '/etc/passwd'), 'HF_FORMAT', 'files[2].path', 'absolute'));
  test('NUL in a file name', () => rejects((m) => (m.files[2].path = 'notes\u0000.txt'), 'HF_FORMAT', 'files[2].path', 'NUL'));
  test('a backslash or drive letter', () => {
    rejects((m) => (m.files[2].path = 'a\\b'), 'HF_FORMAT', 'backslash');
    rejects((m) => (m.files[2].path = 'C:notes'), 'HF_FORMAT', 'drive letter');
  });
  test('two names for one file (case)', () => rejects((m) => (m.files[2].path = 'R0000-P000.safetensors'), 'HF_FORMAT', 'duplicate paths', 'case'));

  test('an unknown major version, before looking at anything else', () => {
    rejects((m) => {
      m.version = '3.0';
      m.files = 'v3 has another layout';
    }, 'HF_FORMAT', 'manifest version 3.0 is newer than this build reads (1.x, 2.x)');
    rejects((m) => (m.version = '0.9'), 'HF_FORMAT', 'older');
    rejects((m) => (m.version = '1'), 'HF_FORMAT', 'version');
  });
  test('a later minor version is read', () => {
    const bytes = mutated((m) => (m.version = '1.7'));
    assert.equal(parseManifest(bytes, MANIFEST_PATH).version, '1.7');
  });
  test('another format', () => rejects((m) => (m.format = 'orbax'), 'HF_FORMAT', 'not a Holdfast manifest', '"orbax"'));
  test('an unknown field, at the top or nested', () => {
    rejects((m) => (m.encryption = { alg: 'x' }), 'HF_FORMAT', 'unknown field "encryption"');
    rejects((m) => (m.files[0].mode = 0o600), 'HF_FORMAT', 'files[0]', 'unknown field "mode"');
  });
  test('a missing required field', () => rejects((m) => delete m.world, 'HF_FORMAT', 'missing field "world"'));

  test('bad hash hex or an unknown algorithm', () => {
    rejects((m) => (m.files[0].hash = m.files[0].hash.toUpperCase().replace('SHA256', 'sha256')), 'HF_FORMAT', 'files[0].hash', '64 lowercase hex');
    rejects((m) => (m.files[0].hash = m.files[0].hash.slice(0, -1)), 'HF_FORMAT', 'files[0].hash', '63 characters');
    rejects((m) => (m.files[1].hash = 'md5:d41d8cd98f00b204e9800998ecf8427e'), 'HF_FORMAT', 'unsupported hash algorithm "md5"');
  });

  test('sizes, steps and ranks that are not safe non-negative integers', () => {
    rejects((m) => (m.files[0].size = 2 ** 53), 'HF_FORMAT', 'integer 9007199254740992 is outside', 'line 10');
    expectError(() => validateManifest({ ...sealManifest(unsealedManifest()), step: 2 ** 53 }, MANIFEST_PATH), 'HF_FORMAT', 'step', 'safe integer', '9007199254740992');
    rejects((m) => (m.files[0].size = 1.5), 'HF_FORMAT', 'files[0].size');
    rejects((m) => (m.step = -1), 'HF_FORMAT', 'step');
    rejects((m) => (m.files[1].rank = '1'), 'HF_FORMAT', 'files[1].rank', 'found "1"');
    rejects((m) => (m.world.size = 0), 'HF_FORMAT', 'world.size', '>= 1');
    rejects((m) => (m.parent = 4.5), 'HF_FORMAT', 'parent');
  });

  test('an integer in the text that JSON numbers cannot hold exactly', () => {
    // 2^53 + 1 reads back as 2^53 with JSON.parse; it must be refused as written, not reported as 2^53.
    const text = new TextDecoder().decode(mutated((m) => (m.step = 2 ** 53))).replace('"step": 9007199254740992', '"step": 9007199254740993');
    assert.ok(text.includes('9007199254740993'));
    expectError(() => parseManifest(new TextEncoder().encode(text), MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, 'integer 9007199254740993 is outside', 'line 4');
  });

  test('a malformed nonce', () => rejects((m) => (m.nonce = 'ABCDEF0123456789ABCDEF0123456789'), 'HF_FORMAT', 'nonce', '32 lowercase hex'));

  test('a duplicate key', () => {
    const text = new TextDecoder().decode(mutated(() => {})).replace('"step": 42,', '"step": 42,\n  "step": 41,');
    expectError(() => parseManifest(new TextEncoder().encode(text), MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, 'duplicate key "step"', 'line ');
  });

  test('a recorded manifestHash that does not match the content', () => {
    const m = sealManifest(unsealedManifest());
    const tampered = encodeJson({ ...m, step: 41 }, 2);
    const e = expectError(() => parseManifest(tampered, MANIFEST_PATH), 'HF_CORRUPT', MANIFEST_PATH, `manifest hash mismatch: recorded ${m.manifestHash} computed sha256:`);
    assert.equal(e.data.recorded, m.manifestHash);
  });
  test('a malformed manifestHash', () => {
    const m = sealManifest(unsealedManifest());
    expectError(() => parseManifest(encodeJson({ ...m, manifestHash: 'sha256:xyz' }), MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, 'manifestHash');
  });

  test('a slab outside its file', () => rejects((m) => (m.tensors.b.slabs[0].byteRange = [4160, 4192]), 'HF_FORMAT', 'tensors["b"].slabs[0].byteRange', 'past the end of "r0000-p000.safetensors" (4160 bytes)'));
  test('a slab whose byte range disagrees with its shape', () => rejects((m) => (m.tensors.b.slabs[0].byteRange = [4128, 4156]), 'HF_FORMAT', 'spans 28 bytes, expected 32'));
  test('a slab in a file that is not listed, or not a shard', () => {
    rejects((m) => (m.tensors.b.slabs[0].file = 'r0002-p000.safetensors'), 'HF_FORMAT', 'not listed in files');
    rejects((m) => (m.tensors.b.slabs[0].file = 'extra/notes.txt'), 'HF_FORMAT', 'kind "file"');
  });
  test('a slab exceeding the global shape', () => rejects((m) => (m.tensors.w.slabs[1].offset = [3, 0]), 'HF_FORMAT', 'tensors["w"].slabs[1]', 'offset 3 + shape 2 exceeds the global size 4'));
  test('a slab of the wrong rank', () => rejects((m) => (m.tensors.b.slabs[0].offset = [0, 0]), 'HF_FORMAT', "tensor's rank 1"));
  test('slabs that overlap or leave a gap', () => {
    rejects((m) => (m.tensors.w.slabs[1].offset = [1, 0]), 'HF_FORMAT', 'slabs[0] and slabs[1] overlap');
    rejects((m) => m.tensors.w.slabs.pop(), 'HF_FORMAT', 'cover 8 of 16 elements');
  });
  test('an unsupported dtype', () => rejects((m) => (m.tensors.b.dtype = 'F8_E5M2'), 'HF_FORMAT', 'tensors["b"].dtype', 'F8_E5M2', 'BF16'));
  test('non-JSON-able state never gets sealed', () => {
    const m = unsealedManifest();
    expectError(() => sealManifest({ ...m, state: { when: new Date(0) } as never }), 'HF_INVALID_ARG', 'Date');
  });

  test('more bytes than the cap, invalid UTF-8, too deep', () => {
    const bytes = mutated(() => {});
    expectError(() => parseManifest(bytes, MANIFEST_PATH, 100), 'HF_FORMAT', MANIFEST_PATH, 'cap');
    const bad = new Uint8Array([...bytes.subarray(0, 20), 0xc0, 0xaf, ...bytes.subarray(20)]);
    expectError(() => parseManifest(bad, MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, 'UTF-8');
    const deep = mutated((m) => (m.state = JSON.parse('['.repeat(70) + ']'.repeat(70))));
    expectError(() => parseManifest(deep, MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, 'nesting deeper than 64');
  });

  test('a number not written as JSON.stringify writes it (Holdfast never writes 4.1e3 for a size)', () => {
    const sealed = sealManifest(unsealedManifest());
    const text = new TextDecoder().decode(encodeManifest(sealed)).replace('"size": 5,', '"size": 5e0,');
    expectError(() => parseManifest(new TextEncoder().encode(text), MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, 'number 5e0');
  });
});

describe('state nesting: what seals is what reads', () => {
  const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));

  // Before: validateManifest allowed 64 levels of state, but state sits inside the manifest
  // object, so the reader saw 65 and refused a checkpoint the writer had sealed.
  test('state nested STATE_MAX_DEPTH levels seals and parses back; one more is refused at seal', () => {
    const ok = sealManifest({ ...unsealedManifest(), state: nested(STATE_MAX_DEPTH) as never });
    assert.deepEqual(parseManifest(encodeManifest(ok), MANIFEST_PATH).state, nested(STATE_MAX_DEPTH));
    expectError(() => sealManifest({ ...unsealedManifest(), state: nested(STATE_MAX_DEPTH + 1) as never }), 'HF_FORMAT', 'state', `nested deeper than ${STATE_MAX_DEPTH}`);
  });

  test('an integer the reader cannot read exactly is refused at seal', () => {
    expectError(() => sealManifest({ ...unsealedManifest(), state: { big: 2 ** 60 } }), 'HF_FORMAT', 'state["big"]', 'outside ±(2^53 - 1)');
    for (const v of [2 ** 53 - 1, 1e21, 1.5, -(2 ** 53 - 1)]) {
      const m = sealManifest({ ...unsealedManifest(), state: { v } });
      assert.deepEqual(parseManifest(encodeManifest(m), MANIFEST_PATH).state, { v });
    }
  });
});

describe('validateManifest and sealManifest', () => {
  test('validateManifest accepts the sample and returns it', () => {
    const m = sealManifest(unsealedManifest());
    assert.equal(validateManifest(m, MANIFEST_PATH), m);
  });
  test('sealManifest refuses what a reader would refuse', () => {
    const m = unsealedManifest();
    m.files[0]!.path = '../escape';
    expectError(() => sealManifest(m), 'HF_FORMAT', 'files[0].path');
  });
  test('validateManifest refuses non-objects', () => {
    expectError(() => validateManifest(null, MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, 'expected an object');
    expectError(() => validateManifest([], MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH);
  });
});
