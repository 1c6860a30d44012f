/**
 * The corruption campaign's fixture: a store in a `MemoryFileSystem` with
 * three committed checkpoints (steps 100, 200, 300) of the same layout, four
 * shard files each (`shardSizeBytes` 20 KiB over ~80 KiB of tensors of
 * several dtypes), so every fault has a same-named file in an older
 * checkpoint to be stale with, and every shard has several 4 KiB data
 * blocks. Each trial starts from `MemoryFileSystem.fromTree(fixture.tree)`:
 * copy-on-write, so a fresh store costs no byte copies.
 *
 * Encrypted (`{ encrypted: true }`, `holdfast torture corrupt --encrypted`):
 * the same checkpoints saved with FIXTURE_ENCRYPTION, so every shard is one
 * AES-256-GCM record (20 KiB under the 8 MiB record size): its ciphertext at
 * the plaintext's offsets, then the 16-byte tag. The layout of a shard
 * (`jsonEnd`, `dataStart`) is read from its decrypted plaintext and holds for
 * the stored bytes too, so injectors damage the same regions as in the clear.
 */
import { posix as path } from 'node:path';
import { encryptionKey, openRecord, recordCount, recordPlace, sealRecord, TAG_BYTES } from '../format/chunk-cipher.js';
import { computeManifestHash } from '../format/manifest.js';
import type { Tensor } from '../format/dtype.js';
import type { JsonValue, Manifest, ManifestFile } from '../format/manifest-types.js';
import { LENGTH_PREFIX_BYTES } from '../format/safetensors.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import type { MemoryTree } from '../fs/memory-tree.js';
import { readWholeFile } from '../fs/file-utils.js';
import { SeededRandom } from '../fs/seeded-random.js';
import type { EncryptionOptions } from '../store/encryption-keys.js';
import { openStore } from '../store/open-store.js';
import type { DurabilityMode } from '../store/types.js';
import { contentDigest } from './kill-content.js';

const FIXTURE_ROOT = '/holdfast-fixture/store';
const FIXTURE_STEPS = [100, 200, 300] as const;
const FIXTURE_SHARD_BYTES = 20 * 1024;
/**
 * Every fixture checkpoint is signed with this HMAC key. Trials open the store with it only for
 * variants that say so (`verifiedWithKey`): the others are checked exactly as an unkeyed reader would.
 */
export const FIXTURE_SIGNING = { hmacKey: 'holdfast corruption campaign fixture key, 32+ bytes' } as const;
/** The encrypted fixture's key: its checkpoints are saved with it, and every trial's store is opened with it. */
export const FIXTURE_ENCRYPTION: EncryptionOptions = { key: 'holdfast corruption campaign encryption key, 32+ bytes' };

export interface FixtureShard {
  /** Manifest path (file name inside the checkpoint). */
  name: string;
  sizeBytes: number;
  /** End of the JSON text inside the header (the rest up to `dataStart` is space padding). */
  jsonEnd: number;
  dataStart: number;
}

export interface FixtureCheckpoint {
  step: number;
  /** Absolute directory in the memory file system. */
  dir: string;
  shards: FixtureShard[];
  manifestBytes: number;
  /** contentDigest of the tensors and state saved at this step. */
  digest: string;
}

export interface CorruptFixture {
  root: string;
  tree: MemoryTree;
  /** Oldest first. */
  checkpoints: FixtureCheckpoint[];
  durability: DurabilityMode;
  /** Set when the checkpoints are encrypted: the key trials open the store with. */
  encryption?: EncryptionOptions;
}

function fixtureTensors(seed: number, step: number): Record<string, Tensor> {
  const rng = new SeededRandom(seed, 0x66697874 /* 'fixt' */, step);
  const bytes = (n: number): ArrayBuffer => rng.fillBytes(new Uint8Array(n)).buffer as ArrayBuffer;
  return {
    'embed.weight': { dtype: 'F32', shape: [256, 16], data: new Float32Array(bytes(256 * 16 * 4)) },
    'layer0.weight': { dtype: 'BF16', shape: [64, 64], data: new Uint16Array(bytes(64 * 64 * 2)) },
    'layer0.bias': { dtype: 'F32', shape: [64], data: new Float32Array(bytes(64 * 4)) },
    'layer1.weight': { dtype: 'F16', shape: [48, 64], data: new Uint16Array(bytes(48 * 64 * 2)) },
    'adam.m.embed': { dtype: 'F32', shape: [4096], data: new Float32Array(bytes(4096 * 4)) },
    'adam.v.embed': { dtype: 'F32', shape: [4096], data: new Float32Array(bytes(4096 * 4)) },
    'scaler.step': { dtype: 'I64', shape: [1], data: BigInt64Array.from([BigInt(step)]) },
    'data.mask': { dtype: 'BOOL', shape: [100], data: Uint8Array.from({ length: 100 }, () => rng.nextInt(2)) },
    'loss.scale': { dtype: 'F32', shape: [], data: Float32Array.from([2 ** 15]) },
  };
}

function fixtureState(seed: number, step: number): JsonValue {
  const rng = new SeededRandom(seed, 0x73746174 /* 'stat' */, step);
  return {
    step,
    optimizer: { name: 'adam', lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    scheduler: { warmup: 100, decay: 'cosine', lastStep: step },
    rng: { python: [rng.nextUint32(), rng.nextUint32()], torch: [rng.nextUint32(), rng.nextUint32()] },
    data: { epoch: 0, index: step * 32, shuffleSeed: seed },
    lossScaler: { scale: 32768, growthTracker: step % 2000 },
  };
}

const fixtureAesKey = (): Uint8Array => encryptionKey(new TextEncoder().encode(FIXTURE_ENCRYPTION.key as string)).key;

/**
 * A fixture shard's plaintext from its stored bytes: the bytes themselves, or the opened record of
 * an encrypted one (the fixture's shards are one record each, so stored offsets below its end are
 * plaintext offsets).
 */
export function shardPlaintext(file: ManifestFile, stored: Uint8Array, chunkBytes: number | undefined): Uint8Array {
  if (file.encrypted === undefined) return stored;
  const { plainSize, noncePrefix } = file.encrypted;
  if (recordCount(plainSize, chunkBytes!) !== 1) throw new Error(`fixture shard ${file.path} is not one record`);
  const plain = openRecord(fixtureAesKey(), recordPlace(file.path, noncePrefix, 0, 1), stored);
  if (plain === undefined || stored.byteLength !== plainSize + TAG_BYTES) throw new Error(`fixture shard ${file.path} does not open with the fixture key`);
  return plain;
}

/** The stored bytes of a fixture shard whose plaintext is `plain`: sealed with the fixture key when it is encrypted (a writer holding the key). */
export function shardStored(file: ManifestFile, plain: Uint8Array): Uint8Array {
  if (file.encrypted === undefined) return plain;
  return sealRecord(fixtureAesKey(), recordPlace(file.path, file.encrypted.noncePrefix, 0, 1), plain);
}

/** Reads the 8-byte length prefix and the header's JSON extent of a shard. */
async function shardLayout(fs: MemoryFileSystem, dir: string, file: ManifestFile, manifest: Manifest): Promise<FixtureShard> {
  const { path: name, size: sizeBytes } = file;
  const bytes = shardPlaintext(file, await readWholeFile(fs, path.join(dir, file.path)), manifest.encryption?.chunkBytes);
  const headerBytes = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const dataStart = LENGTH_PREFIX_BYTES + headerBytes;
  let jsonEnd = dataStart;
  while (jsonEnd > LENGTH_PREFIX_BYTES && bytes[jsonEnd - 1] === 0x20) jsonEnd--;
  return { name, sizeBytes, jsonEnd, dataStart };
}

export async function buildCorruptFixture(seed: number, durability: DurabilityMode = 'atomic_dirsync', options: { encrypted?: boolean } = {}): Promise<CorruptFixture> {
  const fs = new MemoryFileSystem();
  const encryption = options.encrypted === true ? { encryption: FIXTURE_ENCRYPTION } : {};
  const store = await openStore(FIXTURE_ROOT, { fs, durability, shardSizeBytes: FIXTURE_SHARD_BYTES, signing: FIXTURE_SIGNING, ...encryption });
  const checkpoints: FixtureCheckpoint[] = [];
  for (const step of FIXTURE_STEPS) {
    const tensors = fixtureTensors(seed, step);
    const state = fixtureState(seed, step);
    const saved = await store.save(step, { tensors, state });
    const manifest: Manifest = await store.inspect(step);
    if (computeManifestHash(manifest) !== manifest.manifestHash) throw new Error('fixture manifest does not re-hash to its manifestHash');
    const shards: FixtureShard[] = [];
    if ((manifest.encryption !== undefined) !== (options.encrypted === true)) throw new Error('fixture checkpoint is not encrypted as asked');
    for (const f of manifest.files) if (f.kind === 'shard') shards.push(await shardLayout(fs, saved.path, f, manifest));
    const manifestBytes = (await fs.stat(path.join(saved.path, 'manifest.json'))).sizeBytes;
    checkpoints.push({ step, dir: saved.path, shards, manifestBytes, digest: contentDigest(tensors, state) });
  }
  const tree = fs.snapshot();
  await store.close();
  return { root: FIXTURE_ROOT, tree, checkpoints, durability, ...encryption };
}
