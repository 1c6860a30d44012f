/** Shared fixtures for the format tests: error assertions and a valid sample manifest. */
import assert from 'node:assert/strict';
import { HoldfastError, type HoldfastErrorCode } from '../../src/errors.js';
import { computeManifestHash } from '../../src/format/manifest.js';
import type { Manifest } from '../../src/format/manifest-types.js';
import { formatHash, sha256Hex } from '../../src/format/sha256.js';

/** Asserts `fn` throws a HoldfastError with `code` whose message contains every `mention`. */
export function expectError(fn: () => unknown, code: HoldfastErrorCode, ...mentions: (string | RegExp)[]): HoldfastError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return checkError(caught, code, mentions);
}

export async function expectRejection(p: Promise<unknown>, code: HoldfastErrorCode, ...mentions: (string | RegExp)[]): Promise<HoldfastError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  return checkError(caught, code, mentions);
}

function checkError(caught: unknown, code: HoldfastErrorCode, mentions: (string | RegExp)[]): HoldfastError {
  assert.ok(caught !== undefined, `expected a ${code} error, but nothing was thrown`);
  assert.ok(caught instanceof HoldfastError, `expected a HoldfastError, got ${String(caught)}`);
  assert.equal(caught.code, code, `wrong code for: ${caught.message}`);
  for (const m of mentions) {
    if (typeof m === 'string') assert.ok(caught.message.includes(m), `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(m)}`);
    else assert.match(caught.message, m);
  }
  return caught;
}

export const MANIFEST_PATH = '/store/ckpt-000000000042/manifest.json';

const HASH_A = formatHash(sha256Hex('shard a'));
const HASH_B = formatHash(sha256Hex('shard b'));

/**
 * Two ranks; "w" F32 [4, 4] row-sharded across both shard files, "b" F32 [8]
 * whole in rank 0's file, "step" an I64 scalar in rank 1's file, plus one
 * opaque file.
 */
export function unsealedManifest(): Omit<Manifest, 'manifestHash'> {
  return {
    format: 'holdfast',
    version: '1.0',
    step: 42,
    nonce: '0123456789abcdef0123456789abcdef',
    createdAt: '2025-01-02T03:04:05.678Z',
    files: [
      { path: 'r0000-p000.safetensors', size: 4096 + 64, hash: HASH_A, rank: 0, kind: 'shard' },
      { path: 'r0001-p000.safetensors', size: 4096 + 40, hash: HASH_B, rank: 1, kind: 'shard' },
      { path: 'extra/notes.txt', size: 5, hash: formatHash(sha256Hex('notes')), rank: 0, kind: 'file' },
    ],
    tensors: {
      w: {
        dtype: 'F32',
        shape: [4, 4],
        slabs: [
          { file: 'r0000-p000.safetensors', byteRange: [4096, 4128], offset: [0, 0], shape: [2, 4] },
          { file: 'r0001-p000.safetensors', byteRange: [4096, 4128], offset: [2, 0], shape: [2, 4] },
        ],
      },
      b: { dtype: 'F32', shape: [8], slabs: [{ file: 'r0000-p000.safetensors', byteRange: [4128, 4160], offset: [0], shape: [8] }] },
      step: { dtype: 'I64', shape: [], slabs: [{ file: 'r0001-p000.safetensors', byteRange: [4128, 4136], offset: [], shape: [] }] },
    },
    state: { lr: 0.001, rng: [1, 2, 3], sched: { warmup: true, name: 'cosine', extra: null }, 'é': 'x' },
    world: { size: 2 },
    provenance: { library: 'holdfast 0.1.0', host: 'node-7', user: 'alice', pid: 1234, gitCommit: 'abc123' },
    parent: null,
  };
}

/** A structurally mutable copy with a correct hash: the way to build an invalid-but-consistent manifest. */
export function resealed(m: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...m };
  delete copy.manifestHash;
  return { ...copy, manifestHash: computeManifestHash(copy as unknown as Manifest) };
}

export function encodeJson(x: unknown, indent?: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(x, null, indent));
}

/**
 * The same checkpoint as manifest 2.0: chunk digests on every file (8 KiB
 * chunks), "w" as flat ranges, the notes file kept from step 40, an epoch,
 * per-rank state and the save's timing.
 */
export function unsealedManifestV2(): Omit<Manifest, 'manifestHash'> {
  const v1 = unsealedManifest();
  const digest = (label: string): string => sha256Hex(label);
  return {
    ...v1,
    version: '2.0',
    files: [
      { ...v1.files[0]!, chunks: { bytes: 8192, sha256: [digest('a0')] } },
      { ...v1.files[1]!, chunks: { bytes: 4096, sha256: [digest('b0'), digest('b1')] } },
      { ...v1.files[2]!, chunks: { bytes: 8192, sha256: [digest('n0')] }, source: { step: 40, nonce: 'fedcba9876543210fedcba9876543210' } },
    ],
    tensors: {
      ...v1.tensors,
      w: {
        dtype: 'F32',
        shape: [4, 4],
        slabs: [
          { file: 'r0000-p000.safetensors', byteRange: [4096, 4128], flat: [0, 8] },
          { file: 'r0001-p000.safetensors', byteRange: [4096, 4128], flat: [8, 16] },
        ],
      },
    },
    provenance: { ...v1.provenance, node: 'v24.0.0', platform: 'linux-x64' },
    epoch: 3,
    rankState: [{ rng: 1 }, { rng: 2 }],
    timing: { pauseMs: 12.5, writeMs: 340 },
  };
}
