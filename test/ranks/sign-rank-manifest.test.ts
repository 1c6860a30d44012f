import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { computeManifestHash } from '../../src/format/manifest.js';
import { ed25519SigningKey, ed25519VerifyKey, hmacKey, signatureProblem, type ManifestTrust } from '../../src/format/manifest-signature.js';
import type { Manifest } from '../../src/format/manifest-types.js';
import { leaderSigningKey, rankSigning, rankSigningProblem, signedManifest } from '../../src/ranks/sign-rank-manifest.js';

const hmac = hmacKey(new TextEncoder().encode('a signing secret of at least 32 bytes'));
const other = hmacKey(new TextEncoder().encode('another signing secret, 32 bytes long'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const ed = ed25519SigningKey(privateKey);
const trustHmac: ManifestTrust = { sign: hmac, verify: [hmac] };
const trustEd: ManifestTrust = { sign: ed.sign, verify: [ed.verify] };
const trustPublic: ManifestTrust = { verify: [ed25519VerifyKey(publicKey)] };

test('a rank record names key ids only: what the rank signs with and what it accepts', () => {
  assert.equal(rankSigning(undefined), undefined);
  assert.deepEqual(rankSigning(trustHmac), { signs: { alg: 'hmac-sha256', keyId: hmac.keyId }, verifies: [{ alg: 'hmac-sha256', keyId: hmac.keyId }] });
  assert.deepEqual(rankSigning(trustPublic), { verifies: [{ alg: 'ed25519', keyId: ed.verify.keyId }] });
  assert.ok(!JSON.stringify(rankSigning(trustHmac)).includes('secret'), 'no key material in the record');
});

test('the leader accepts a rank without keys, with its own key, or verifying its key; refuses another signing key, or verify keys that miss its own', () => {
  const leader = { alg: 'ed25519' as const, keyId: ed.sign.keyId };
  assert.equal(rankSigningProblem(1, undefined, leader), undefined);
  assert.equal(rankSigningProblem(1, rankSigning(trustEd), leader), undefined);
  assert.equal(rankSigningProblem(1, rankSigning(trustPublic), leader), undefined);
  assert.match(rankSigningProblem(2, rankSigning(trustHmac), leader)!, new RegExp(`^rank 2 signs with key ${hmac.keyId} \\(hmac-sha256\\), the leader \\(rank 0\\) with key ${ed.sign.keyId} \\(ed25519\\)`));
  const hmacLeader = { alg: 'hmac-sha256' as const, keyId: hmac.keyId };
  assert.match(rankSigningProblem(3, rankSigning({ sign: other, verify: [other] }), hmacLeader)!, new RegExp(`rank 3 signs with key ${other.keyId}`));
  assert.match(rankSigningProblem(3, rankSigning(trustPublic), hmacLeader)!, new RegExp(`rank 3 accepts only manifests signed by key ${ed.verify.keyId} \\(ed25519\\)`));
  // A leader without a key writes an unsigned manifest, which a keyed rank would refuse.
  assert.match(rankSigningProblem(1, rankSigning(trustPublic), undefined)!, /the leader \(rank 0\) signs with no key/);
  assert.match(rankSigningProblem(1, rankSigning(trustHmac), undefined)!, /the leader \(rank 0\) with no key/);
});

test('a leader with only verify keys cannot sign; with a key its signature verifies and binds the manifest', () => {
  assert.equal(leaderSigningKey(undefined), undefined);
  assert.throws(() => leaderSigningKey(trustPublic), (e: unknown) => isHoldfastError(e, 'HF_INVALID_ARG') && /holds only verify keys/.test((e as Error).message) && (e as Error).message.includes(ed.verify.keyId));
  const sealed = { step: 1, state: null, manifestHash: 'sha256:00' } as unknown as Manifest;
  sealed.manifestHash = computeManifestHash(sealed);
  assert.equal(signedManifest(sealed, undefined), sealed);
  for (const trust of [trustHmac, trustEd]) {
    const signed = signedManifest(sealed, leaderSigningKey(trust));
    assert.equal(signatureProblem(signed, trust.verify), undefined);
    const rewritten = { ...signed, state: 'x' } as Manifest;
    rewritten.manifestHash = computeManifestHash(rewritten);
    assert.match(signatureProblem(rewritten, trust.verify)!, /does not match the manifest/);
  }
});
