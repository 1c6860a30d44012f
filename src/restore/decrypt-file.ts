/**
 * The read side of encryption at rest (format/chunk-cipher.ts). The manifest's
 * digests are of the stored bytes, so a checkpoint is verified (and rolled back
 * over when damaged) without the key; the key is needed only to turn verified
 * stored bytes into plaintext.
 *
 * What a failure means, and why it is never a quarantine: a reader without
 * the key the manifest names, or with another key, gets HF_KEY naming the key
 * id, before any data byte is read; rolling back to an older checkpoint would
 * silently restore something else, and quarantining a good checkpoint for a
 * configuration mistake would destroy it for the reader that has the key. A
 * record that fails authentication after its stored bytes matched the
 * manifest's digest can only be a key given under the recorded id that is not
 * the one it was written with (or a rewrite by someone who recomputed the
 * digests, which signing catches): HF_KEY as well. A damaged record fails its
 * digest first, which is corruption, quarantined and rolled back over.
 */
import { HoldfastError } from '../errors.js';
import { recordCount, recordPlace, recordStoredRange, type EncryptionKey } from '../format/chunk-cipher.js';
import type { Manifest, ManifestEncryption, ManifestFile } from '../format/manifest-types.js';
import type { CipherPool } from '../io/cipher-pool.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import type { RecordCipherSpec } from '../io/record-cipher-stream.js';

/** Records opened at once per file. */
const RECORDS_IN_FLIGHT = 8;

/** The keys a reader holds, and where records are opened. */
export interface Decryption {
  keys: readonly EncryptionKey[];
  ciphers: CipherPool;
}

/** How one encrypted checkpoint's files are opened: its key, found by the id its manifest records. */
export interface CheckpointOpener {
  key: EncryptionKey;
  encryption: ManifestEncryption;
  ciphers: CipherPool;
  location: string;
}

/**
 * The opener of an encrypted checkpoint, undefined for a plain one, and also undefined when the key
 * is not needed (`required` false: verification only). A required key that is missing or another
 * is HF_KEY naming the id the manifest records.
 */
export function checkpointOpener(manifest: Manifest, decryption: Decryption | undefined, location: string, required: boolean): CheckpointOpener | undefined {
  const encryption = manifest.encryption;
  if (encryption === undefined) return undefined;
  const key = decryption?.keys.find((k) => k.keyId === encryption.keyId);
  if (key !== undefined) return { key, encryption, ciphers: decryption!.ciphers, location };
  if (!required) return undefined;
  const held = decryption === undefined || decryption.keys.length === 0 ? 'no encryption key is configured (HOLDFAST_ENCRYPTION_KEY or HOLDFAST_ENCRYPTION_KEY_FILE, or the store option `encryption`)' : `the configured key is ${decryption.keys.map((k) => k.keyId).join(', ')}`;
  throw new HoldfastError('HF_KEY', `${location}: checkpoint ${manifest.step} is encrypted with key ${encryption.keyId}, and ${held}; nothing was read, nothing quarantined`, {
    path: location,
    data: { step: manifest.step, keyId: encryption.keyId },
  });
}

/** A record that did not authenticate though its stored bytes matched the manifest. */
export function wrongKey(opener: CheckpointOpener, file: ManifestFile, index: number): HoldfastError {
  return new HoldfastError(
    'HF_KEY',
    `${opener.location}: record ${index} of ${file.path} does not authenticate with the key given as ${opener.key.keyId}, though its stored bytes match the manifest: that key is not the one this checkpoint was encrypted with (or the checkpoint was rewritten without it); nothing quarantined`,
    { path: opener.location, data: { keyId: opener.key.keyId, file: file.path, record: index } },
  );
}

/** How a reader opens `file`'s records in the pass that hashes it (`ReadHashedOptions.decrypt`). */
export function openSpec(opener: CheckpointOpener, file: ManifestFile): RecordCipherSpec {
  const { plainSize, noncePrefix } = file.encrypted!;
  return { op: 'open', key: opener.key.key, path: file.path, noncePrefix, plainSize, chunkBytes: opener.encryption.chunkBytes };
}

/** The stored byte range holding the plaintext range [begin, end) (whole records), and the plaintext range those records give. */
export function storedRangeFor(opener: CheckpointOpener, file: ManifestFile, begin: number, end: number): { stored: [number, number]; plain: [number, number]; records: [number, number] } {
  const { plainSize } = file.encrypted!;
  const chunkBytes = opener.encryption.chunkBytes;
  const stop = Math.min(end, plainSize);
  const first = Math.floor(begin / chunkBytes);
  const last = Math.max(first, Math.ceil(stop / chunkBytes)); // exclusive
  if (first >= last) return { stored: [0, 0], plain: [begin, begin], records: [first, first] };
  return {
    stored: [recordStoredRange(first, plainSize, chunkBytes)[0], recordStoredRange(last - 1, plainSize, chunkBytes)[1]],
    plain: [first * chunkBytes, Math.min(last * chunkBytes, plainSize)],
    records: [first, last],
  };
}

/** Opens whole records [first, last) held in `stored`, which starts at stored offset `storedStart`; the plaintext of those records. */
export async function openStoredRecords(opener: CheckpointOpener, file: ManifestFile, records: [number, number], stored: Uint8Array, storedStart: number): Promise<Uint8Array> {
  const { plainSize, noncePrefix } = file.encrypted!;
  const chunkBytes = opener.encryption.chunkBytes;
  const count = recordCount(plainSize, chunkBytes);
  const [first, last] = records;
  const plainStart = first * chunkBytes;
  const out = new Uint8Array(Math.min(last * chunkBytes, plainSize) - plainStart);
  await mapConcurrent(Array.from({ length: last - first }, (_, k) => first + k), RECORDS_IN_FLIGHT, async (i) => {
    const [b, e] = recordStoredRange(i, plainSize, chunkBytes);
    const plain = await opener.ciphers.open(opener.key.key, recordPlace(file.path, noncePrefix, i, count), stored.subarray(b - storedStart, e - storedStart));
    if (plain === undefined) throw wrongKey(opener, file, i);
    out.set(plain, i * chunkBytes - plainStart);
  });
  return out;
}
