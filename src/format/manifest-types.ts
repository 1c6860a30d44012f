/** The manifest v1 document (DESIGN §7): what binds the files of one checkpoint. */
import type { DType } from './dtype.js';

export const MANIFEST_FORMAT = 'holdfast';
/** Major.minor; readers refuse an unknown major. */
export const MANIFEST_VERSION = '1.0';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ManifestFile {
  /** Relative to the checkpoint directory; a plain name or `a/b` segments, validated. */
  path: string;
  size: number;
  /** `sha256:<64 hex>` */
  hash: string;
  rank: number;
  /** `shard`: a Holdfast safetensors file; `file`: an opaque file committed by `commitFiles`. */
  kind: 'shard' | 'file';
}

interface TensorSlab {
  /** Manifest path of the shard file holding this slab. */
  file: string;
  /** Absolute byte range [begin, end) inside that file. */
  byteRange: [number, number];
  /** Where the slab starts inside the global tensor, per dimension. */
  offset: number[];
  /** The slab's own shape. */
  shape: number[];
}

export interface ManifestTensor {
  dtype: DType;
  /** Global shape. */
  shape: number[];
  slabs: TensorSlab[];
}

export interface Provenance {
  library: string;
  host: string;
  user: string;
  pid: number;
  gitCommit?: string;
  configHash?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: string;
  step: number;
  /** 32 lowercase hex chars, unique per save attempt; also in every shard's `__metadata__`. */
  nonce: string;
  createdAt: string;
  files: ManifestFile[];
  tensors: Record<string, ManifestTensor>;
  state: JsonValue;
  world: { size: number };
  provenance: Provenance;
  parent: number | null;
  /** `sha256:<hex>` of the canonical JSON of every other field. */
  manifestHash: string;
}

/** Keys written into each shard's safetensors `__metadata__`. */
export const META_STEP = 'holdfast.step';
export const META_RANK = 'holdfast.rank';
export const META_NONCE = 'holdfast.nonce';
