import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatHash, parseHash, sha256Hex } from '../../src/format/sha256.js';
import { expectError } from './fixtures.js';

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const P = '/store/ckpt-000000000001/manifest.json';

describe('sha256', () => {
  test('hashes bytes and strings (as UTF-8) to the FIPS 180-2 test vector', () => {
    assert.equal(sha256Hex('abc'), ABC);
    assert.equal(sha256Hex(new Uint8Array([0x61, 0x62, 0x63])), ABC);
    assert.equal(sha256Hex('é'), sha256Hex(new Uint8Array([0xc3, 0xa9])));
  });

  test('formatHash and parseHash round trip', () => {
    assert.equal(formatHash(ABC), `sha256:${ABC}`);
    assert.deepEqual(parseHash(formatHash(ABC), P), { algorithm: 'sha256', hex: ABC });
    expectError(() => formatHash('abc'), 'HF_INVALID_ARG');
  });

  test('parseHash allows only sha256 with exactly 64 lowercase hex', () => {
    const bad = [`md5:${ABC.slice(0, 32)}`, `SHA256:${ABC}`, `sha256:${ABC.toUpperCase()}`, `sha256:${ABC}0`, `sha256:${ABC.slice(1)}`, ABC, `sha256: ${ABC.slice(1)}`, ''];
    for (const s of bad) expectError(() => parseHash(s, P, 'files[0].hash'), 'HF_FORMAT', P, 'files[0].hash');
    expectError(() => parseHash(`blake3:${ABC}`, P), 'HF_FORMAT', 'unsupported hash algorithm "blake3"', 'sha256');
    expectError(() => parseHash('x', P, 'hash', 'HF_INVALID_ARG'), 'HF_INVALID_ARG');
  });
});
