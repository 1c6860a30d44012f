/**
 * Signed manifests for multi-rank stores. The leader (rank 0) is the only
 * writer of the manifest, so it alone signs, with the store's signing key
 * (HMAC or an Ed25519 private key); the other ranks may hold the same key,
 * only verify keys (an Ed25519 public key), or none. Each rank's record says
 * which keys it holds, and the leader commits only a checkpoint every rank
 * would accept: a rank holding a signing key must hold the leader's (same
 * key id and algorithm), and a rank holding only verify keys must verify
 * the leader's key. A rank with no key neither signs nor checks: it is
 * accepted. A leader with only verify keys cannot sign and aborts.
 */
import { HoldfastError } from '../errors.js';
import { signManifestHash, type ManifestTrust, type SigningKey } from '../format/manifest-signature.js';
import type { Manifest, ManifestSignature } from '../format/manifest-types.js';

/** A key as records and messages name it: never the key itself. */
export type KeyRef = Pick<ManifestSignature, 'alg' | 'keyId'>;

/** What a rank's record says about its signing keys (absent: it has none). */
export interface RankSigning {
  /** The key this rank would sign with; absent when it holds only verify keys. */
  signs?: KeyRef;
  /** Every key whose signature this rank accepts on restore. */
  verifies: KeyRef[];
}

const ref = (k: KeyRef): KeyRef => ({ alg: k.alg, keyId: k.keyId });
const describeKey = (k: KeyRef | undefined): string => (k === undefined ? 'no key' : `key ${k.keyId} (${k.alg})`);
const sameKey = (a: KeyRef | undefined, b: KeyRef | undefined): boolean => a?.keyId === b?.keyId && a?.alg === b?.alg;

/** The record's `signing` of a rank of a store opened with `trust` (undefined: no signing option). */
export function rankSigning(trust: ManifestTrust | undefined): RankSigning | undefined {
  if (trust === undefined) return undefined;
  return { ...(trust.sign === undefined ? {} : { signs: ref(trust.sign) }), verifies: trust.verify.map(ref) };
}

/** The key the leader signs with; HF_INVALID_ARG when its store can verify but not sign. */
export function leaderSigningKey(trust: ManifestTrust | undefined): SigningKey | undefined {
  if (trust === undefined || trust.sign !== undefined) return trust?.sign;
  const held = trust.verify.map((k) => describeKey(k)).join(', ');
  throw new HoldfastError('HF_INVALID_ARG', `the leader (rank 0) holds only verify keys (${held}): it signs the manifest, so it needs the private or HMAC key`);
}

/** Why rank `rank` would not accept a manifest signed by `leader` (undefined: unsigned), or undefined when it would. */
export function rankSigningProblem(rank: number, own: RankSigning | undefined, leader: KeyRef | undefined): string | undefined {
  if (own === undefined) return undefined;
  if (own.signs !== undefined && !sameKey(own.signs, leader)) {
    return `rank ${rank} signs with ${describeKey(own.signs)}, the leader (rank 0) with ${describeKey(leader)}: every rank that holds a signing key must hold the leader's`;
  }
  if (own.verifies.length > 0 && !own.verifies.some((k) => sameKey(k, leader))) {
    return `rank ${rank} accepts only manifests signed by ${own.verifies.map((k) => describeKey(k)).join(', ')}, the leader (rank 0) signs with ${describeKey(leader)}: the rank would refuse the checkpoint`;
  }
  return undefined;
}

/** The sealed manifest with the leader's signature over its `manifestHash` (as it is, without a key). */
export function signedManifest(sealed: Manifest, key: SigningKey | undefined): Manifest {
  return key === undefined ? sealed : { ...sealed, signature: signManifestHash(sealed.manifestHash, key) };
}
