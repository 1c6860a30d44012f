/**
 * Tamper evidence for manifests. A SHA-256 in the manifest catches accidents,
 * not someone who rewrites a file and recomputes every hash; a key they do
 * not hold does. The signature covers the `manifestHash` string, and that
 * hash covers every other field (chunk digests included), so one signature
 * binds every byte of the checkpoint. Two kinds of key:
 * - HMAC-SHA-256 with a shared secret: whoever can verify can also sign;
 * - Ed25519: the writer holds the private key, readers only the public one.
 * A key id (derived from the key, never from the secret in a reversible way)
 * is recorded beside the signature so a reader picks the right key and an
 * error can name it.
 */
import { createHash, createHmac, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { invalidArg } from '../errors.js';
import type { Manifest, ManifestSignature } from './manifest-types.js';

/** HMAC secrets shorter than this are refused: a guessable key is no evidence of anything. */
export const HMAC_MIN_KEY_BYTES = 32;

export type SigningKey =
  | { alg: 'hmac-sha256'; keyId: string; secret: Uint8Array }
  | { alg: 'ed25519'; keyId: string; privateKey: KeyObject };

export type VerifyKey = { alg: 'hmac-sha256'; keyId: string; secret: Uint8Array } | { alg: 'ed25519'; keyId: string; publicKey: KeyObject };

/** What a store signs with and accepts. With any verify key, unsigned or badly signed checkpoints are refused. */
export interface ManifestTrust {
  sign?: SigningKey;
  verify: VerifyKey[];
}

function shortDigest(label: string, bytes: Uint8Array): string {
  return createHash('sha256').update(label).update(bytes).digest('hex').slice(0, 16);
}

/** Key ids are recorded in every manifest: short, printable, no surprises. */
export const KEY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function checkedKeyId(keyId: string): string {
  if (!KEY_ID.test(keyId)) throw invalidArg(`key id ${JSON.stringify(keyId.slice(0, 140))}: expected 1 to 128 of A-Z a-z 0-9 . _ : -`);
  return keyId;
}

export function hmacKey(secret: Uint8Array, keyId?: string): SigningKey & VerifyKey & { alg: 'hmac-sha256' } {
  if (secret.byteLength < HMAC_MIN_KEY_BYTES) {
    throw invalidArg(`HMAC signing key: expected at least ${HMAC_MIN_KEY_BYTES} bytes, found ${secret.byteLength}`);
  }
  return { alg: 'hmac-sha256', keyId: checkedKeyId(keyId ?? `hmac-${shortDigest('holdfast-hmac-key-id:', secret)}`), secret };
}

/** The key id of an Ed25519 key: a digest of its public key (SPKI DER), the same for the private and the public half. */
function ed25519KeyId(publicKey: KeyObject): string {
  return `ed25519-${shortDigest('holdfast-ed25519-key-id:', publicKey.export({ type: 'spki', format: 'der' }))}`;
}

function assertEd25519(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ed25519') throw invalidArg(`${what}: expected an Ed25519 key, found ${key.asymmetricKeyType ?? key.type}`);
}

export function ed25519SigningKey(privateKey: KeyObject, keyId?: string): { sign: SigningKey; verify: VerifyKey } {
  assertEd25519(privateKey, 'Ed25519 private key');
  if (privateKey.type !== 'private') throw invalidArg(`Ed25519 signing key: expected a private key, found a ${privateKey.type} key`);
  const publicKey = createPublicKey(privateKey);
  const id = checkedKeyId(keyId ?? ed25519KeyId(publicKey));
  return { sign: { alg: 'ed25519', keyId: id, privateKey }, verify: { alg: 'ed25519', keyId: id, publicKey } };
}

export function ed25519VerifyKey(publicKey: KeyObject, keyId?: string): VerifyKey {
  assertEd25519(publicKey, 'Ed25519 public key');
  return { alg: 'ed25519', keyId: checkedKeyId(keyId ?? ed25519KeyId(publicKey)), publicKey };
}

export function signManifestHash(manifestHash: string, key: SigningKey): ManifestSignature {
  const message = Buffer.from(manifestHash, 'utf8');
  const value = key.alg === 'hmac-sha256' ? createHmac('sha256', key.secret).update(message).digest() : sign(null, message, key.privateKey);
  return { alg: key.alg, keyId: key.keyId, value: value.toString('base64') };
}

/** Why `manifest` does not carry a good signature by one of `keys`, or undefined when it does. */
export function signatureProblem(manifest: Manifest, keys: readonly VerifyKey[]): string | undefined {
  const s = manifest.signature;
  const known = keys.map((k) => `${k.keyId} (${k.alg})`).join(', ');
  if (s === undefined) return `unsigned, and this store requires a signature by ${known}`;
  const key = keys.find((k) => k.keyId === s.keyId && k.alg === s.alg);
  if (key === undefined) return `signed with key ${s.keyId} (${s.alg}), which is not one of the configured keys: ${known}`;
  const message = Buffer.from(manifest.manifestHash, 'utf8');
  const value = Buffer.from(s.value, 'base64');
  const good =
    key.alg === 'hmac-sha256'
      ? value.byteLength === 32 && timingSafeEqual(value, createHmac('sha256', key.secret).update(message).digest())
      : verify(null, message, key.publicKey, value);
  return good ? undefined : `signature by key ${s.keyId} (${s.alg}) does not match the manifest: rewritten after it was signed`;
}
