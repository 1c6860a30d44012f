/**
 * Encryption at rest (manifest 2.0 `encryption`): each file is cut into
 * records of `chunkBytes` plaintext (the last one shorter), and each record is
 * stored as its AES-256-GCM ciphertext followed by its 16-byte tag, so a
 * stored file is `size + 16 · records` bytes and record i starts at
 * i · (chunkBytes + 16).
 *
 * Nonces: a random 64-bit prefix per file (in the manifest, `files[].encrypted`)
 * followed by the record index as 32 bits. Within a file the nonces differ by
 * construction; across files under one key they collide only when two random
 * prefixes do: about n²/2^65 for n files (2^-33 after 65 536 files, still
 * 2^-25 after a million). A random 96-bit nonce per record would meet NIST's
 * bound for random nonces (2^32 invocations per key, SP 800-38D §8.3) after
 * 32 PiB of 8 MiB records and would have to be stored per record; the prefix
 * costs 16 hex digits per file and makes a record's nonce a function of its
 * place.
 *
 * Associated data binds the record to its place: the file's path in the
 * checkpoint, its index and the file's record count. A record moved to
 * another index or file, or a file cut short at a record boundary, fails
 * authentication even before the nonce (also derived from the index) does.
 *
 * Keys: a secret of at least 32 bytes (the environment or a key file),
 * expanded with HKDF-SHA-256 into the AES key, so a hex or base64 text secret
 * works as it is. The key id recorded in the manifest is a digest of the
 * secret under its own label (64 bits of SHA-256: names the key, reveals
 * nothing usable about a 256-bit secret).
 *
 * Plaintext digests (`files[].encrypted.plainDigest`, incremental series
 * only): HMAC-SHA-256, under a second HKDF subkey of the same secret (its own
 * label), of a shard's plaintext header followed by the SHA-256 of its tensor
 * bytes (`plainDigest`). An incremental save tells by it that a planned shard
 * equals the parent's stored one without decrypting it, while a reader
 * without the key learns nothing from it: it cannot test a guessed plaintext
 * against it. The header names the nonce of the save that wrote the file, so
 * no two written files share a digest; only a kept file repeats its holder's,
 * which its `source` says anyway.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { invalidArg } from '../errors.js';
import { KEY_ID } from './manifest-signature.js';

export const ENCRYPTION_ALG = 'aes-256-gcm';
export const TAG_BYTES = 16;
/** Random bytes of a file's nonce prefix; the other 4 of GCM's 12 are the record index. */
export const NONCE_PREFIX_BYTES = 8;
/** Records per file at most: the index is 32 bits of the nonce (2^32 × 8 MiB = 32 PiB). */
export const MAX_RECORDS = 2 ** 32;
/** Secrets shorter than this are refused, as for HMAC signing keys. */
export const ENCRYPTION_MIN_SECRET_BYTES = 32;

export interface EncryptionKey {
  keyId: string;
  /** The 32-byte AES key (derived from the secret). */
  key: Uint8Array;
  /** The 32-byte HMAC-SHA-256 key of plaintext digests (derived from the secret under another label). */
  digestKey: Uint8Array;
}

/** Prefix of `files[].encrypted.plainDigest`: `hmac-sha256:` and 64 lowercase hex digits. */
export const PLAIN_DIGEST_ALG = 'hmac-sha256';

export function encryptionKey(secret: Uint8Array, keyId?: string): EncryptionKey {
  if (secret.byteLength < ENCRYPTION_MIN_SECRET_BYTES) {
    throw invalidArg(`encryption key: expected a secret of at least ${ENCRYPTION_MIN_SECRET_BYTES} bytes, found ${secret.byteLength}`);
  }
  const id = keyId ?? `aes-${createHash('sha256').update('holdfast-encryption-key-id:').update(secret).digest('hex').slice(0, 16)}`;
  if (!KEY_ID.test(id)) throw invalidArg(`encryption key id ${JSON.stringify(id.slice(0, 140))}: expected 1 to 128 of A-Z a-z 0-9 . _ : -`);
  const key = new Uint8Array(hkdfSync('sha256', secret, 'holdfast-encryption-v1', 'aes-256-gcm file records', 32));
  const digestKey = new Uint8Array(hkdfSync('sha256', secret, 'holdfast-encryption-v1', 'hmac-sha256 plaintext digests', 32));
  return { keyId: id, key, digestKey };
}

/**
 * `hmac-sha256:<hex>` of a plaintext given as its `head` (a shard's header) and the SHA-256 of the
 * rest (its tensor bytes): HMAC(head ‖ SHA-256(rest)). Hashing the tensor bytes apart lets a save
 * hash them once, though it compares them under the parent's header and records them under its own.
 */
export function plainDigest(key: EncryptionKey, head: Uint8Array, restSha256: Uint8Array): string {
  return `${PLAIN_DIGEST_ALG}:${createHmac('sha256', key.digestKey).update(head).update(restSha256).digest('hex')}`;
}

/** Records of a file of `plainBytes`: none for an empty file. */
export function recordCount(plainBytes: number, chunkBytes: number): number {
  return Math.ceil(plainBytes / chunkBytes);
}

/** The stored size of a file of `plainBytes`. */
export function encryptedSize(plainBytes: number, chunkBytes: number): number {
  return plainBytes + TAG_BYTES * recordCount(plainBytes, chunkBytes);
}

/** Plaintext byte range [begin, end) of record `index` of a file of `plainBytes`. */
export function recordPlainRange(index: number, plainBytes: number, chunkBytes: number): [number, number] {
  return [index * chunkBytes, Math.min((index + 1) * chunkBytes, plainBytes)];
}

/** Stored byte range of record `index` (ciphertext then tag). */
export function recordStoredRange(index: number, plainBytes: number, chunkBytes: number): [number, number] {
  const [b, e] = recordPlainRange(index, plainBytes, chunkBytes);
  return [b + index * TAG_BYTES, e + (index + 1) * TAG_BYTES];
}

/** Everything that places record `index` of a file: its nonce and associated data. */
export interface RecordPlace {
  nonce: Uint8Array;
  aad: Uint8Array;
}

export function recordPlace(path: string, noncePrefixHex: string, index: number, records: number): RecordPlace {
  const nonce = new Uint8Array(12);
  nonce.set(Buffer.from(noncePrefixHex, 'hex'));
  new DataView(nonce.buffer).setUint32(NONCE_PREFIX_BYTES, index);
  const pathBytes = Buffer.from(path, 'utf8');
  const aad = new Uint8Array(18 + 4 + pathBytes.byteLength + 16);
  aad.set(Buffer.from('holdfast-record-v1', 'ascii'));
  const view = new DataView(aad.buffer);
  view.setUint32(18, pathBytes.byteLength);
  aad.set(pathBytes, 22);
  view.setBigUint64(22 + pathBytes.byteLength, BigInt(index));
  view.setBigUint64(30 + pathBytes.byteLength, BigInt(records));
  return { nonce, aad };
}

/** Ciphertext followed by the tag. */
export function sealRecord(key: Uint8Array, place: RecordPlace, plain: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, place.nonce);
  cipher.setAAD(place.aad);
  const out = new Uint8Array(plain.byteLength + TAG_BYTES);
  out.set(cipher.update(plain));
  cipher.final();
  out.set(cipher.getAuthTag(), plain.byteLength);
  return out;
}

/** The plaintext of a stored record, or undefined when it does not authenticate (wrong key, changed bytes, wrong place). */
export function openRecord(key: Uint8Array, place: RecordPlace, stored: Uint8Array): Uint8Array | undefined {
  if (stored.byteLength < TAG_BYTES) return undefined;
  const body = stored.byteLength - TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, place.nonce);
  decipher.setAAD(place.aad);
  decipher.setAuthTag(stored.subarray(body));
  const plain = decipher.update(stored.subarray(0, body));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plain;
}

/** A fresh random nonce prefix for one file (16 lowercase hex digits). */
export function newNoncePrefix(): string {
  return randomBytes(NONCE_PREFIX_BYTES).toString('hex');
}
