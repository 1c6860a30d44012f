/**
 * Encryption at rest for a rank's shard files: the one place a rank turns a
 * file's plaintext parts into what it stores (format/chunk-cipher.ts records,
 * sealed on the cipher workers), and the sealer every rank of a store builds
 * from its key. The leader writes the same `encryption` into the manifest and
 * refuses records sealed otherwise (leader-check.ts).
 */
import { manifestEncryption, sealParts, type FileSealer } from '../commit/encrypt-file.js';
import type { EncryptionKey } from '../format/chunk-cipher.js';
import { DEFAULT_CHUNK_BYTES, type FileEncryption, type ManifestEncryption } from '../format/manifest-types.js';
import type { IoRuntime } from '../io/io-runtime.js';

export type { FileSealer } from '../commit/encrypt-file.js';

/** The sealer of a store opened with `key`; undefined (plain files) without one. */
export function rankSealer(key: EncryptionKey | undefined, io: IoRuntime): FileSealer | undefined {
  return key === undefined ? undefined : { key, ciphers: io.ciphers, chunkBytes: DEFAULT_CHUNK_BYTES };
}

/** What a rank's record says about how its files are sealed (none: plain). */
export function rankEncryption(sealer: FileSealer | undefined): ManifestEncryption | undefined {
  return sealer === undefined ? undefined : manifestEncryption(sealer);
}

/** The parts to store for the file `path` whose plaintext is `parts`, and how it was sealed (none: stored as it is). */
export async function sealRankFile(sealer: FileSealer | undefined, path: string, parts: Uint8Array[]): Promise<{ stored: Uint8Array[]; encrypted?: FileEncryption }> {
  if (sealer === undefined) return { stored: parts };
  return sealParts(sealer, path, parts);
}
