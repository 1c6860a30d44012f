import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { ed25519SigningKey, ed25519VerifyKey, hmacKey, signManifestHash, signatureProblem } from '../../src/format/manifest-signature.js';
import { computeManifestHash, sealManifest } from '../../src/format/manifest.js';
import type { Manifest } from '../../src/format/manifest-types.js';
import { expectError, unsealedManifestV2 } from './fixtures.js';

const SECRET = new TextEncoder().encode('0123456789abcdef0123456789abcdef');

function signed(key: Parameters<typeof signManifestHash>[1]): Manifest {
  const m = sealManifest(unsealedManifestV2());
  return { ...m, signature: signManifestHash(m.manifestHash, key) };
}

/** A consistent rewrite: a value changed and manifestHash recomputed, the old signature kept. */
function rewritten(m: Manifest): Manifest {
  const edited = { ...m, state: { lr: 1 } };
  return { ...edited, manifestHash: computeManifestHash(edited) };
}

describe('manifest signatures', () => {
  test('HMAC: a signed manifest verifies; a consistent rewrite does not', () => {
    const key = hmacKey(SECRET);
    const m = signed(key);
    assert.equal(m.signature?.alg, 'hmac-sha256');
    assert.equal(signatureProblem(m, [key]), undefined);
    assert.match(signatureProblem(rewritten(m), [key])!, /does not match the manifest: rewritten after it was signed/);
  });

  test('Ed25519: signed with the private key, verified with the public key alone', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pair = ed25519SigningKey(privateKey);
    const readerKey = ed25519VerifyKey(publicKey);
    assert.equal(readerKey.keyId, pair.sign.keyId, 'both halves of one key have one id');
    const m = signed(pair.sign);
    assert.equal(signatureProblem(m, [readerKey]), undefined);
    assert.match(signatureProblem(rewritten(m), [readerKey])!, /rewritten/);
  });

  test('unsigned, or signed by a key not configured: refused, naming the keys', () => {
    const key = hmacKey(SECRET);
    const unsigned = sealManifest(unsealedManifestV2());
    assert.match(signatureProblem(unsigned, [key])!, new RegExp(`unsigned, and this store requires a signature by ${key.keyId}`));
    const other = hmacKey(new TextEncoder().encode('another secret of at least 32 bytes!'));
    assert.match(signatureProblem(signed(other), [key])!, new RegExp(`signed with key ${other.keyId} .*not one of the configured keys: ${key.keyId}`));
  });

  test('a short HMAC secret or a non-Ed25519 key is refused', () => {
    expectError(() => hmacKey(new Uint8Array(31)), 'HF_INVALID_ARG', 'at least 32 bytes, found 31');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expectError(() => ed25519SigningKey(privateKey), 'HF_INVALID_ARG', 'expected an Ed25519 key, found ec');
  });

  test('a signature value of the wrong length is a mismatch, not a crash', () => {
    const key = hmacKey(SECRET);
    const m = signed(key);
    assert.match(signatureProblem({ ...m, signature: { ...m.signature!, value: 'AAAA' } }, [key])!, /does not match/);
  });
});
