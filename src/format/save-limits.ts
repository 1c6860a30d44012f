/**
 * The write side of the readers' limits (limits.ts): `assertSaveWithinLimits`
 * refuses, with HF_INVALID_ARG naming the limit, a save whose checkpoint some
 * reader would refuse, before a single byte is written. Without it such a
 * save commits and every later reader quarantines the checkpoint.
 *
 * Exact, not estimated: it encodes each shard's header (the 100 MB cap and
 * the data offsets) and the manifest the save will write, with placeholder
 * hashes, chunk digests and nonce of the real lengths and counts (one
 * digest per DEFAULT_CHUNK_BYTES of each file), the real step, sizes,
 * tensors, state and provenance, then measures the manifest against MANIFEST_MAX_BYTES and
 * runs the readers' schema check on it. The commit later writes a manifest
 * of the same length (only the hashes, chunk digests, nonce and creation
 * time differ, and those keep their lengths). An encrypted save's draft has
 * its `encryption`, stored sizes (tags included) and every file's `encrypted`
 * (with `plainDigest` on the shards of an incremental save). An incremental
 * save's is an upper bound: which shards are kept is decided later, so every
 * shard is drafted with a `source` and the parent is drafted as this step (a
 * kept shard's header names an older step, never a longer one). Cost: one encoding of the manifest and of each
 * header, no tensor bytes touched (those are checked by `assertValidTensor`).
 */
import { HoldfastError, invalidArg, isHoldfastError } from '../errors.js';
import type { ShardEntry } from './safetensors.js';
import { encodeShardHeader } from './safetensors.js';
import { defineEntry } from './define-entry.js';
import { FieldChecker } from './field-checks.js';
import { checkJsonValue } from './json-value.js';
import { MANIFEST_MAX_BYTES, STATE_MAX_DEPTH } from './limits.js';
import {
  DEFAULT_CHUNK_BYTES,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  META_NONCE,
  META_RANK,
  META_STEP,
  type JsonValue,
  type Manifest,
  type ManifestEncryption,
  type ManifestFile,
  type ManifestTensor,
  type Provenance,
} from './manifest-types.js';
import { encodeManifest, validateManifest } from './manifest.js';
import { MANIFEST_FILE, SHA256SUMS_FILE, assertValidStep } from './names.js';
import { assertNoDuplicatePaths, assertSafeRelativePath } from './relative-path.js';
import { formatHash } from './sha256.js';
import { chunkListHash } from './chunk-list-hash.js';
import { NONCE_PREFIX_BYTES, PLAIN_DIGEST_ALG, encryptedSize } from './chunk-cipher.js';

export interface SavePlanShard {
  fileName: string;
  rank: number;
  /** The shard's tensors in file order. */
  entries: readonly ShardEntry[];
}

export interface SavePlan {
  step: number;
  shards: readonly SavePlanShard[];
  /** Opaque files (`commitFiles`): their name inside the checkpoint and size. */
  files: readonly { name: string; sizeBytes: number }[];
  state: unknown;
  /** What the commit will record (`currentProvenance(ctx)`): host and user names count toward the size. */
  provenance: Provenance;
  /** The save's `encryption`, when it encrypts its files. */
  encryption?: ManifestEncryption | undefined;
  /** An incremental save: shards may be kept (`source`), and encrypted ones carry `plainDigest`. */
  incremental?: boolean | undefined;
}

const PLACEHOLDER_HASH = formatHash('0'.repeat(64));
const PLACEHOLDER_NONCE = '0'.repeat(32);
const PLACEHOLDER_DIGEST = '0'.repeat(64);
const PLACEHOLDER_NONCE_PREFIX = '0'.repeat(2 * NONCE_PREFIX_BYTES);
const PLACEHOLDER_PLAIN_DIGEST = `${PLAIN_DIGEST_ALG}:${PLACEHOLDER_DIGEST}`;
/** The longest `timing` value a save records (milliseconds to the microsecond, under 11.6 days; longer is clamped). */
export const TIMING_MAX_MS = 999_999_999.999;
/** Room left for a `signature` ({alg, keyId of at most KEY_ID_MAX_CHARS, base64 Ed25519 value}) in the size check. */
export const KEY_ID_MAX_CHARS = 128;
export const SIGNATURE_RESERVE_BYTES = 512;
/** Compared after NFC + lower case, as duplicate paths are: `Manifest.json` is manifest.json on macOS. */
const RESERVED_NAMES = [MANIFEST_FILE, SHA256SUMS_FILE];

export function assertSaveWithinLimits(plan: SavePlan): void {
  assertValidStep(plan.step);
  checkJsonValue(new FieldChecker('save input', undefined, 'HF_INVALID_ARG'), plan.state, 'state', STATE_MAX_DEPTH);
  assertFileNames(plan);
  const manifest = draftManifest(plan);
  // The draft is exact but for timing (written at its longest) and a signature (reserved).
  const sizeBytes = encodeManifest(manifest).byteLength + SIGNATURE_RESERVE_BYTES;
  if (sizeBytes > MANIFEST_MAX_BYTES) {
    throw invalidArg(
      `the manifest of this save would be ${sizeBytes} bytes, over the ${MANIFEST_MAX_BYTES}-byte cap readers enforce (MANIFEST_MAX_BYTES); ` +
        'save a smaller state or fewer tensors',
      { data: { limit: 'MANIFEST_MAX_BYTES', sizeBytes, maxBytes: MANIFEST_MAX_BYTES } },
    );
  }
  try {
    validateManifest(manifest, '(planned)');
  } catch (e) {
    // A reader would refuse it: the input is at fault (or this build is, and then failing early is still right).
    if (isHoldfastError(e, 'HF_FORMAT')) throw new HoldfastError('HF_INVALID_ARG', `save refused, readers would not accept its manifest: ${e.message}`, { cause: e, data: e.data });
    throw e;
  }
}

function assertFileNames(plan: SavePlan): void {
  const names = [...plan.shards.map((s) => s.fileName), ...plan.files.map((f) => f.name)];
  for (const name of names) {
    assertSafeRelativePath(name, 'file name', 'HF_INVALID_ARG');
    const key = name.normalize('NFC').toLowerCase();
    if (RESERVED_NAMES.includes(key)) throw invalidArg(`file name ${JSON.stringify(name)} is reserved inside a checkpoint (it would be ${key})`);
  }
  assertNoDuplicatePaths(names, 'checkpoint files', 'HF_INVALID_ARG');
}

/** The manifest the save will write, hashes, nonce and manifestHash replaced by placeholders of their length, timing by its longest. */
export function draftManifest(plan: SavePlan): Manifest {
  const files: ManifestFile[] = [];
  const tensors: Record<string, ManifestTensor> = {};
  for (const shard of plan.shards) {
    const metadata = { [META_STEP]: String(plan.step), [META_RANK]: String(shard.rank), [META_NONCE]: PLACEHOLDER_NONCE };
    const header = encodeShardHeader([...shard.entries], metadata);
    const file = draftFile(plan, shard.fileName, header.fileSize, shard.rank, 'shard');
    files.push(plan.incremental === true ? { ...file, source: { step: plan.step, nonce: PLACEHOLDER_NONCE } } : file);
    shard.entries.forEach((e, i) => {
      const entry: ManifestTensor = {
        dtype: e.dtype,
        shape: [...e.shape],
        slabs: [{ file: shard.fileName, byteRange: header.ranges[i]!, offset: e.shape.map(() => 0), shape: [...e.shape] }],
      };
      defineEntry(tensors, e.name, entry);
    });
  }
  for (const f of plan.files) files.push(draftFile(plan, f.name, f.sizeBytes, 0, 'file'));
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    step: plan.step,
    nonce: PLACEHOLDER_NONCE,
    createdAt: new Date().toISOString(),
    files,
    tensors,
    state: plan.state as JsonValue,
    world: { size: 1 },
    provenance: plan.provenance,
    parent: plan.incremental === true ? plan.step : null,
    timing: { pauseMs: TIMING_MAX_MS, writeMs: TIMING_MAX_MS },
    ...(plan.encryption === undefined ? {} : { encryption: plan.encryption }),
    manifestHash: PLACEHOLDER_HASH,
  };
}

/** A file entry as the commit will write it: one placeholder chunk digest per chunk of the stored bytes. */
function draftFile(plan: SavePlan, path: string, plainSize: number, rank: number, kind: ManifestFile['kind']): ManifestFile {
  const size = plan.encryption === undefined ? plainSize : encryptedSize(plainSize, plan.encryption.chunkBytes);
  const chunks = { bytes: DEFAULT_CHUNK_BYTES, sha256: new Array<string>(Math.ceil(size / DEFAULT_CHUNK_BYTES)).fill(PLACEHOLDER_DIGEST) };
  const file: ManifestFile = { path, size, hash: chunkListHash(chunks.sha256), rank, kind, chunks };
  if (plan.encryption === undefined) return file;
  const digest = kind === 'shard' && plan.incremental === true ? { plainDigest: PLACEHOLDER_PLAIN_DIGEST } : {};
  return { ...file, encrypted: { plainSize, noncePrefix: PLACEHOLDER_NONCE_PREFIX, ...digest } };
}
