import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createHmac } from 'node:crypto';
import { TAG_BYTES, encryptedSize, encryptionKey, newNoncePrefix, openRecord, plainDigest, recordCount, recordPlace, recordStoredRange, sealRecord } from '../../src/format/chunk-cipher.js';
import { expectError } from './fixtures.js';

const key = encryptionKey(new TextEncoder().encode('a secret of at least thirty-two bytes!!'));

describe('AES-256-GCM records', () => {
  test('a record opens only at its own place: same path, same index, same record count, same nonce prefix', () => {
    const prefix = newNoncePrefix();
    const plain = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const stored = sealRecord(key.key, recordPlace('a.safetensors', prefix, 3, 5), plain);
    assert.equal(stored.byteLength, plain.byteLength + TAG_BYTES);
    assert.notDeepEqual(stored.subarray(0, 1000), plain);
    assert.ok(Buffer.from(openRecord(key.key, recordPlace('a.safetensors', prefix, 3, 5), stored)!).equals(plain));
    assert.equal(openRecord(key.key, recordPlace('a.safetensors', prefix, 2, 5), stored), undefined, 'another index');
    assert.equal(openRecord(key.key, recordPlace('b.safetensors', prefix, 3, 5), stored), undefined, 'another file');
    assert.equal(openRecord(key.key, recordPlace('a.safetensors', prefix, 3, 4), stored), undefined, 'a file cut to fewer records');
    assert.equal(openRecord(key.key, recordPlace('a.safetensors', newNoncePrefix(), 3, 5), stored), undefined, 'another nonce prefix');
    const other = encryptionKey(new TextEncoder().encode('another secret of at least thirty-two bytes'));
    assert.equal(openRecord(other.key, recordPlace('a.safetensors', prefix, 3, 5), stored), undefined, 'another key');
    const flipped = stored.slice();
    flipped[10]! ^= 1;
    assert.equal(openRecord(key.key, recordPlace('a.safetensors', prefix, 3, 5), flipped), undefined, 'a flipped ciphertext bit');
  });

  test('sizes: records of chunkBytes plaintext, each stored with its tag; an empty file has none', () => {
    assert.equal(recordCount(0, 4096), 0);
    assert.equal(encryptedSize(0, 4096), 0);
    assert.equal(encryptedSize(4096, 4096), 4096 + 16);
    assert.equal(encryptedSize(4097, 4096), 4097 + 32);
    assert.deepEqual(recordStoredRange(1, 4097, 4096), [4112, 4113 + 16]);
  });

  test('key ids are derived from the secret (stable, short), and short secrets are refused', () => {
    const again = encryptionKey(new TextEncoder().encode('a secret of at least thirty-two bytes!!'));
    assert.equal(again.keyId, key.keyId);
    assert.match(key.keyId, /^aes-[0-9a-f]{16}$/);
    assert.equal(encryptionKey(new Uint8Array(32), 'ops-2026').keyId, 'ops-2026');
    expectError(() => encryptionKey(new Uint8Array(31)), 'HF_INVALID_ARG', 'at least 32 bytes');
  });

  test('plaintext digests: HMAC under their own subkey of the secret, neither the AES key nor another secret\'s', () => {
    const head = new TextEncoder().encode('header');
    const rest = new Uint8Array(32).fill(7);
    assert.notDeepEqual(key.digestKey, key.key);
    assert.equal(key.digestKey.byteLength, 32);
    const digest = plainDigest(key, head, rest);
    assert.match(digest, /^hmac-sha256:[0-9a-f]{64}$/);
    assert.equal(plainDigest(encryptionKey(new TextEncoder().encode('a secret of at least thirty-two bytes!!'), 'another-id'), head, rest), digest, 'the secret decides, not the id');
    assert.notEqual(plainDigest(encryptionKey(new TextEncoder().encode('another secret of at least thirty-two bytes')), head, rest), digest);
    assert.notEqual(plainDigest(key, new TextEncoder().encode('headeR'), rest), digest);
    assert.equal(digest.slice(12), createHmac('sha256', key.digestKey).update(head).update(rest).digest('hex'));
    assert.notEqual(digest.slice(12), createHmac('sha256', key.key).update(head).update(rest).digest('hex'));
  });
});
