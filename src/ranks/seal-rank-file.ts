/**
 * Encryption at rest for a rank's shard files: the one place a rank says how
 * a file's plaintext parts are stored (format/chunk-cipher.ts records, sealed
 * by the attempt area's writer as it writes), and the sealer every rank of a store builds
 * from its key. The leader writes the same `encryption` into the manifest and
 * refuses records sealed otherwise (leader-check.ts).
 */
import { manifestEncryption, sealSpec, type FileSealer } from '../commit/encrypt-file.js';
import type { EncryptionKey } from '../format/chunk-cipher.js';
import { DEFAULT_CHUNK_BYTES, type FileEncryption, type ManifestEncryption } from '../format/manifest-types.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { RecordCipherSpec } from '../io/record-cipher-stream.js';

export type { FileSealer } from '../commit/encrypt-file.js';

/** The sealer of a store opened with `key`; undefined (plain files) without one. */
export function rankSealer(key: EncryptionKey | undefined, io: IoRuntime): FileSealer | undefined {
  return key === undefined ? undefined : { key, ciphers: io.ciphers, chunkBytes: DEFAULT_CHUNK_BYTES };
}

/** What a rank's record says about how its files are sealed (none: plain). */
export function rankEncryption(sealer: FileSealer | undefined): ManifestEncryption | undefined {
  return sealer === undefined ? undefined : manifestEncryption(sealer);
}

/** How the writer is to seal the file `path` whose plaintext is `parts`, and what the record says of it (none: stored as it is). */
export function rankFileSeal(sealer: FileSealer | undefined, path: string, parts: readonly Uint8Array[]): { spec: RecordCipherSpec; encrypted: FileEncryption } | undefined {
  return sealer === undefined ? undefined : sealSpec(sealer, path, parts);
}
