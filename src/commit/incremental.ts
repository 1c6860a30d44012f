/**
 * Incremental saves: a shard file whose bytes equal the file at the same path
 * in the parent checkpoint is not written again; the new manifest keeps the
 * parent's entry (size, hash, chunk digests) with a `source` naming the
 * checkpoint that physically holds the file, so references never chain.
 *
 * "Equal bytes" is decided by digest: the candidate file is the planned shard
 * under the header its holder wrote (that checkpoint's step and nonce in
 * `__metadata__`), hashed on this thread chunk by chunk against the recorded
 * chunk digests; all equal (and the size) means equal bytes, header included,
 * so the child's verification of the kept file is the parent's.
 *
 * Encrypted: the recorded digests are of the ciphertext, which a fresh nonce
 * prefix makes differ on every save, so the same candidate is compared with
 * the parent's keyed plaintext digest instead (`encrypted.plainDigest`,
 * recorded by every encrypted incremental save: HMAC of the header and the
 * SHA-256 of the tensor bytes, which are hashed once per save, for the
 * comparison and for the digest the save records). The kept entry keeps the
 * parent's `encrypted` (nonce prefix, digest): the record's associated data is
 * its path, the same in both checkpoints, so the child decrypts it as it is. A
 * parent under another key, without digests, or plain (its files are not to
 * be kept in the clear) is written again; so is an encrypted parent's file in
 * a plain save. Incremental saves plan small shards
 * (INCREMENTAL_SHARD_BYTES) so a frozen tensor does not share a file with a
 * trained one; a tensor over that size gets a file of its own.
 */
import { createHash } from 'node:crypto';
import { isHoldfastError } from '../errors.js';
import { MANIFEST_MAX_BYTES } from '../format/limits.js';
import { parseManifest } from '../format/manifest.js';
import { MANIFEST_FILE } from '../format/names.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import type { FileSource, Manifest, ManifestFile } from '../format/manifest-types.js';
import { META_NONCE, META_RANK, META_STEP } from '../format/manifest-types.js';
import { chunkHashes } from '../format/chunk-digests.js';
import { encodeShardHeader } from '../format/safetensors.js';
import { plainDigest, type EncryptionKey } from '../format/chunk-cipher.js';
import { shardEntries, type PlannedShard } from './plan-shards.js';

/** Shard target of an incremental series: small enough that frozen and trained tensors rarely share a file. */
export const INCREMENTAL_SHARD_BYTES = 4 * 1024 * 1024;

export interface KeptShard {
  file: ManifestFile;
  /** Byte ranges of the shard's tensors in the kept file, in `shard.tensors` order. */
  ranges: [number, number][];
}

/** How this save encrypts its files (the sealer's key and record size), if it does. */
export interface SaveEncryption {
  key: EncryptionKey;
  chunkBytes: number;
}

/** The parent's file this shard would duplicate byte for byte, or undefined when it must be written. */
export function keptShard(parent: Manifest, shard: PlannedShard, encryption?: SaveEncryption): KeptShard | undefined {
  const old = parent.files.find((f) => f.path === shard.fileName && f.kind === 'shard' && f.rank === shard.rank);
  // A 1.0 parent records no chunk digests, which a 2.0 entry needs: its files are written again.
  if (old === undefined || old.chunks === undefined) return undefined;
  const holder: FileSource = old.source ?? { step: parent.step, nonce: parent.nonce };
  const header = encodeShardHeader(shardEntries(shard), { [META_STEP]: String(holder.step), [META_RANK]: String(shard.rank), [META_NONCE]: holder.nonce });
  const same = encryption === undefined ? parent.encryption === undefined && sameStoredBytes(old, shard, header.bytes) : sameSealedPlaintext(parent, old, shard, header.bytes, encryption);
  return same ? { file: { ...old, source: holder }, ranges: header.ranges } : undefined;
}

/** Chunk by chunk against the recorded chunk digests of a plain file. */
function sameStoredBytes(old: ManifestFile, shard: PlannedShard, header: Uint8Array): boolean {
  if (header.byteLength + shard.dataBytes !== old.size) return false;
  const parts = [header, ...shard.tensors.map((t) => t.bytes)];
  // A changed file is usually given away by its first chunk, so looking for reuse costs one chunk per changed file, not a pass over its bytes.
  const recorded = old.chunks!.sha256;
  let i = 0;
  for (const digest of chunkHashes(parts, old.chunks!.bytes)) {
    if (digest !== recorded[i++]) return false;
  }
  return i === recorded.length;
}

/** Against the keyed plaintext digest of a file the parent stored under this save's key and record size. */
function sameSealedPlaintext(parent: Manifest, old: ManifestFile, shard: PlannedShard, header: Uint8Array, encryption: SaveEncryption): boolean {
  const e = parent.encryption;
  if (e === undefined || e.keyId !== encryption.key.keyId || e.chunkBytes !== encryption.chunkBytes) return false;
  const recorded = old.encrypted?.plainDigest;
  // A whole pass over the tensor bytes even for a changed file (a digest is not compared chunk by chunk); the write reuses it.
  return recorded !== undefined && old.encrypted!.plainSize === header.byteLength + shard.dataBytes && shardPlainDigest(encryption.key, shard, header) === recorded;
}

/** SHA-256 of each planned shard's tensor bytes, hashed once per save (planned shards are the save's own objects). */
const tensorHashes = new WeakMap<PlannedShard, Uint8Array>();

/** The keyed digest (`encrypted.plainDigest`) of the shard's file written under `header`. */
export function shardPlainDigest(key: EncryptionKey, shard: PlannedShard, header: Uint8Array): string {
  let tensors = tensorHashes.get(shard);
  if (tensors === undefined) {
    const hash = createHash('sha256');
    for (const t of shard.tensors) hash.update(t.bytes);
    tensors = hash.digest();
    tensorHashes.set(shard, tensors);
  }
  return plainDigest(key, header, tensors);
}

/**
 * The checkpoint an incremental save of `step` keeps files from: the newest committed one before it,
 * judged by its manifest alone (its data is not re-read: a damaged parent fails the child's
 * verification, and `fullEvery` bounds how far that reaches). Undefined means a full save: no earlier
 * checkpoint, an unreadable manifest, or `fullEvery` says this save is the full one.
 */
export async function incrementalParent(storage: CheckpointStorage, step: number, fullEvery: number | undefined): Promise<Manifest | undefined> {
  const parentStep = (await storage.list()).filter((s) => s < step).at(-1);
  const parent = parentStep === undefined ? undefined : await readManifest(storage, parentStep);
  if (parent === undefined || fullEvery === undefined) return parent;
  const run = await incrementalRunLength(parent, (s) => readManifest(storage, s), fullEvery);
  return run >= fullEvery - 1 ? undefined : parent;
}

async function readManifest(storage: CheckpointStorage, step: number): Promise<Manifest | undefined> {
  const reader = await storage.open(step);
  if (reader === undefined) return undefined;
  try {
    const m = parseManifest(await reader.readSmallFile(MANIFEST_FILE, MANIFEST_MAX_BYTES), reader.locate(MANIFEST_FILE));
    return m.step === step ? m : undefined;
  } catch (e) {
    if (isHoldfastError(e, 'HF_IO')) throw e;
    return undefined;
  }
}

/**
 * How many saves in a row, ending with `parent`, were incremental (walking `parent` links while
 * their manifests keep files from elsewhere), so `fullEvery` can cut the chain.
 */
export async function incrementalRunLength(parent: Manifest, load: (step: number) => Promise<Manifest | undefined>, limit: number): Promise<number> {
  let run = 0;
  for (let m: Manifest | undefined = parent; m !== undefined && run < limit; ) {
    if (!m.files.some((f) => f.source !== undefined)) return run;
    run++;
    m = m.parent === null ? undefined : await load(m.parent);
  }
  return run;
}
