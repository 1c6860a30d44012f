/**
 * The manifest document (DESIGN §7): what binds the files of one checkpoint.
 *
 * Version 2.0 (written by this build) extends 1.0 (still read) for ranged
 * verified reads, many ranks and lifecycle, designed once for all of them:
 * - every file carries SHA-256 digests of fixed-size chunks (`chunks`), so a
 *   byte range (a ranged GET on S3, a resharding read, a resumed upload) is
 *   verified chunk by chunk; the manifest hash covers them;
 * - a file may live in an earlier checkpoint (`source`: incremental saves);
 * - a slab is a box of the global row-major tensor or a flat element range;
 * - `epoch` fences the leader of an older job incarnation, `rankState` keeps
 *   per-rank state that cannot be resharded, `timing` records the save's cost
 *   for the interval advisor, `signature` signs the manifest hash, `encryption`
 *   (with `files[].encrypted`) says the files are stored encrypted.
 * Every 2.0 addition is listed in manifest-validate.ts; 1.0 documents must not
 * carry any of them. Version 2.1 (written since) only adds the `sha256-chunks`
 * file hash, derived from the chunk digests so each byte is hashed once;
 * 2.0 and 2.1 are both read.
 */
import type { DType } from './dtype.js';

export const MANIFEST_FORMAT = 'holdfast';
/** Major.minor written by this build; readers refuse an unknown major. */
export const MANIFEST_VERSION = '2.1';
/** The major versions this build reads. */
export const READABLE_MAJOR_VERSIONS: readonly number[] = [1, 2];
/** The default chunk size of `chunks`: a multiple of 4096 and at least S3's 5 MiB part minimum, so a part is a chunk. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** SHA-256 of each chunk [i·bytes, min((i+1)·bytes, size)) of a file, as 64 lowercase hex digits; none for an empty file. */
export interface ChunkDigests {
  bytes: number;
  sha256: string[];
}

/** Where a file of an incremental checkpoint lives: the same path inside an earlier, committed checkpoint. */
export interface FileSource {
  step: number;
  /** That checkpoint's nonce: a checkpoint re-saved at the same step by another attempt is not the source. */
  nonce: string;
}

export interface ManifestFile {
  /** Relative to the checkpoint directory; a plain name or `a/b` segments, validated; unique in the manifest. */
  path: string;
  size: number;
  /**
   * `sha256:<64 hex>` of the whole file (1.0, 2.0, and a 2.1 file of at most one chunk), or, 2.1,
   * `sha256-chunks:<64 hex>`: SHA-256 of its chunk digests (`chunk-list-hash.ts`).
   */
  hash: string;
  rank: number;
  /** `shard`: a Holdfast safetensors file; `file`: an opaque file committed by `commitFiles`. */
  kind: 'shard' | 'file';
  /** 2.x: required. */
  chunks?: ChunkDigests;
  /** 2.x: present only for a file kept from an earlier checkpoint. */
  source?: FileSource;
  /** 2.x: present on every file of an encrypted checkpoint (and only there); `size`, `hash` and `chunks` are of the stored bytes. */
  encrypted?: FileEncryption;
}

/** 2.x: how one file of an encrypted checkpoint is stored (format/chunk-cipher.ts). */
export interface FileEncryption {
  /** Bytes of the plaintext file; slab byte ranges are offsets into it. */
  plainSize: number;
  /** 16 lowercase hex digits: the random first 8 bytes of every record nonce of this file. */
  noncePrefix: string;
  /**
   * Shards of an incremental series: `hmac-sha256:<64 hex>` of the plaintext (its header, then the
   * SHA-256 of its tensor bytes) under a subkey of the encryption secret (chunk-cipher.ts), so the
   * next save can keep the file without decrypting it.
   */
  plainDigest?: string;
}

/** 2.x: encryption at rest (format/chunk-cipher.ts); covered by `manifestHash`. */
export interface ManifestEncryption {
  alg: 'aes-256-gcm';
  /** Which key encrypted every file: a reader without it is told this id. */
  keyId: string;
  /** Plaintext bytes per record; each record is stored as ciphertext + 16-byte tag. */
  chunkBytes: number;
}

/** A box of the global row-major tensor, stored row-major. */
export interface BoxSlab {
  /** Manifest path of the shard file holding this slab. */
  file: string;
  /** Absolute byte range [begin, end) inside that file. */
  byteRange: [number, number];
  /** Where the slab starts inside the global tensor, per dimension. */
  offset: number[];
  /** The slab's own shape. */
  shape: number[];
}

/** 2.x: the elements [begin, end) of the row-major global tensor (FSDP-style flat shards). */
export interface FlatSlab {
  file: string;
  byteRange: [number, number];
  flat: [number, number];
}

export type TensorSlab = BoxSlab | FlatSlab;

export function isFlatSlab(s: TensorSlab): s is FlatSlab {
  return 'flat' in s;
}

/** The shape the slab's bytes have in its shard file: a flat range is stored as a 1-D tensor. */
export function storedSlabShape(s: TensorSlab): number[] {
  return isFlatSlab(s) ? [s.flat[1] - s.flat[0]] : [...s.shape];
}

export interface ManifestTensor {
  dtype: DType;
  /** Global shape. */
  shape: number[];
  /** One kind per tensor: all boxes or all flat ranges. */
  slabs: TensorSlab[];
}

export interface Provenance {
  library: string;
  host: string;
  user: string;
  pid: number;
  gitCommit?: string;
  configHash?: string;
  /** 2.x: `process.version` of the writer. */
  node?: string;
  /** 2.x: `${process.platform}-${process.arch}`. */
  platform?: string;
}

/** 2.x: what the save cost, in milliseconds (the interval advisor reads it). */
export interface SaveTiming {
  /** How long training was paused (saveAsync: the snapshot; save: the whole save). */
  pauseMs: number;
  /** From the start of the save to the sealing of this manifest. */
  writeMs: number;
}

/** 2.x: a signature over the `manifestHash` string (UTF-8), outside the hashed fields. */
export interface ManifestSignature {
  alg: 'hmac-sha256' | 'ed25519';
  keyId: string;
  /** base64 */
  value: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: string;
  step: number;
  /** 32 lowercase hex chars, unique per save attempt (all ranks of one attempt share it); also in every shard's `__metadata__`. */
  nonce: string;
  createdAt: string;
  files: ManifestFile[];
  tensors: Record<string, ManifestTensor>;
  /** The global state, once. */
  state: JsonValue;
  world: { size: number };
  provenance: Provenance;
  parent: number | null;
  /** 2.x: the epoch record of the job incarnation that wrote it (multi-rank fencing). */
  epoch?: number;
  /** 2.x: per-rank state that cannot be resharded (RNG streams, data positions); index = rank, length = world.size. */
  rankState?: JsonValue[];
  /** 2.x */
  timing?: SaveTiming;
  /** 2.x: the files are encrypted (each carries `encrypted`); `state` and the rest of the manifest are not. */
  encryption?: ManifestEncryption;
  /** 2.x: not covered by manifestHash (it signs it). */
  signature?: ManifestSignature;
  /** `sha256:<hex>` of the canonical JSON of every other field but `signature`. */
  manifestHash: string;
}

/** Fields not covered by `manifestHash`. */
export const UNHASHED_FIELDS: readonly string[] = ['manifestHash', 'signature'];

export function majorVersion(m: Pick<Manifest, 'version'>): number {
  return Number(m.version.split('.')[0]);
}

/** Keys written into each shard's safetensors `__metadata__`. */
export const META_STEP = 'holdfast.step';
export const META_RANK = 'holdfast.rank';
export const META_NONCE = 'holdfast.nonce';
