import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeManifestHash, encodeManifest, parseManifest, sealManifest } from '../../src/format/manifest.js';
import { chunkListHash } from '../../src/format/chunk-list-hash.js';
import type { Manifest } from '../../src/format/manifest-types.js';
import { sha256Hex } from '../../src/format/sha256.js';
import { MANIFEST_PATH, encodeJson, expectError, resealed, unsealedManifest, unsealedManifestV2 } from './fixtures.js';

type Mutable = Record<string, any>;

function mutatedV2(mutate: (m: Mutable) => void): Uint8Array {
  const m = structuredClone(sealManifest(unsealedManifestV2())) as Mutable;
  mutate(m);
  return encodeJson(resealed(m), 2);
}

function rejectsV2(mutate: (m: Mutable) => void, ...mentions: string[]): void {
  expectError(() => parseManifest(mutatedV2(mutate), MANIFEST_PATH), 'HF_FORMAT', MANIFEST_PATH, ...mentions);
}

describe('manifest 2.0', () => {
  test('round trips with chunks, a kept file, flat slabs, epoch, rank state and timing', () => {
    const m = sealManifest(unsealedManifestV2());
    assert.deepEqual(parseManifest(encodeManifest(m), MANIFEST_PATH), m);
  });

  test('the hash covers the chunk digests but not the signature, which signs it', () => {
    const m = sealManifest(unsealedManifestV2());
    const flipped = structuredClone(m) as Mutable;
    flipped.files[1].chunks.sha256[1] = '0'.repeat(64);
    assert.notEqual(computeManifestHash(flipped as typeof m), m.manifestHash);
    const signed = { ...m, signature: { alg: 'ed25519' as const, keyId: 'k1', value: 'AAAA' } };
    assert.equal(computeManifestHash(signed), m.manifestHash);
    assert.deepEqual(parseManifest(encodeManifest(signed), MANIFEST_PATH), signed);
  });

  test('a 1.0 manifest is still read, and must not carry 2.0 fields', () => {
    const v1 = sealManifest(unsealedManifest());
    assert.deepEqual(parseManifest(encodeManifest(v1), MANIFEST_PATH), v1);
    const withChunks = structuredClone(v1) as Mutable;
    withChunks.files[0].chunks = { bytes: 8192, sha256: ['0'.repeat(64)] };
    expectError(() => parseManifest(encodeJson(resealed(withChunks)), MANIFEST_PATH), 'HF_FORMAT', 'files[0]', 'unknown field "chunks"');
    const withEpoch = { ...(structuredClone(v1) as Mutable), epoch: 1 };
    expectError(() => parseManifest(encodeJson(resealed(withEpoch)), MANIFEST_PATH), 'HF_FORMAT', 'unknown field "epoch"');
  });

  test('refuses a newer major, naming the versions it reads', () => {
    rejectsV2((m) => (m.version = '3.0'), 'newer than this build reads');
  });

  test('every file needs chunk digests that match its size', () => {
    rejectsV2((m) => delete m.files[0].chunks, 'files[0]', 'missing field "chunks"');
    rejectsV2((m) => m.files[1].chunks.sha256.pop(), 'files[1].chunks.sha256', 'expected 2 digests');
    rejectsV2((m) => (m.files[0].chunks.bytes = 1000), 'files[0].chunks.bytes', 'multiple of 4096');
    rejectsV2((m) => (m.files[0].chunks.sha256[0] = 'sha256:' + '0'.repeat(64)), 'files[0].chunks.sha256[0]', '64 lowercase hex');
  });

  test('a kept file names its source step and nonce', () => {
    rejectsV2((m) => (m.files[2].source = { step: 40 }), 'files[2].source', 'missing field "nonce"');
    rejectsV2((m) => (m.files[2].source.nonce = 'xyz'), 'files[2].source.nonce');
  });

  test('flat slabs must tile the tensor, and a tensor cannot mix flat and box slabs', () => {
    rejectsV2((m) => (m.tensors.w.slabs[1].flat = [9, 17]), 'runs past the tensor');
    rejectsV2((m) => {
      m.tensors.w.slabs[1].flat = [7, 15];
    }, 'overlap');
    rejectsV2((m) => {
      m.tensors.w.slabs[0].flat = [0, 7];
      m.tensors.w.slabs[0].byteRange = [4096, 4124];
    }, 'gaps');
    rejectsV2((m) => (m.tensors.w.slabs[0] = { file: 'r0000-p000.safetensors', byteRange: [4096, 4128], offset: [0, 0], shape: [2, 4] }), 'not both');
    rejectsV2((m) => (m.tensors.w.slabs[0].byteRange = [4096, 4132]), 'expected 32 for 8 F32 elements');
  });

  test('rank state has one entry per rank; timing and signature are checked', () => {
    rejectsV2((m) => m.rankState.pop(), 'rankState', 'one entry per rank');
    rejectsV2((m) => (m.timing.pauseMs = -1), 'timing.pauseMs');
    rejectsV2((m) => (m.signature = { alg: 'rsa', keyId: 'k', value: 'AA==' }), 'signature.alg');
    rejectsV2((m) => (m.epoch = -1), 'epoch');
  });
});

describe('manifest 2.1: file hashes derived from chunk digests', () => {
  const v21 = (): Mutable => {
    const m = structuredClone(unsealedManifestV2()) as Mutable;
    m.version = '2.1';
    m.files[1].hash = chunkListHash(m.files[1].chunks.sha256);
    return m;
  };

  test('a 2.1 manifest with a sha256-chunks file hash round trips; 2.0 manifests are still read', () => {
    const m = sealManifest(v21() as Omit<Manifest, 'manifestHash'>);
    assert.match(m.files[1]!.hash, /^sha256-chunks:[0-9a-f]{64}$/);
    assert.deepEqual(parseManifest(encodeManifest(m), MANIFEST_PATH), m);
    const v20 = sealManifest(unsealedManifestV2());
    assert.deepEqual(parseManifest(encodeManifest(v20), MANIFEST_PATH), v20);
  });

  test('the chunk-list hash is SHA-256 over the raw chunk digests; a file of at most one chunk keeps its plain SHA-256', () => {
    const d = [sha256Hex('x'), sha256Hex('y')];
    assert.equal(chunkListHash(d), `sha256-chunks:${sha256Hex(Buffer.concat(d.map((h) => Buffer.from(h, 'hex'))))}`);
    assert.equal(chunkListHash([d[0]!]), `sha256:${d[0]}`);
    assert.equal(chunkListHash([]), `sha256:${sha256Hex('')}`);
  });

  test('a 2.0 manifest may not carry a sha256-chunks hash', () => {
    const m = v21();
    m.version = '2.0';
    expectError(() => parseManifest(encodeJson(resealed(m)), MANIFEST_PATH), 'HF_FORMAT', 'files[1].hash', 'sha256-chunks');
  });

  test('a sha256-chunks hash that is not the hash of the file chunk digests is refused, naming both', () => {
    const m = v21();
    m.files[1].chunks.sha256[0] = sha256Hex('other');
    expectError(() => parseManifest(encodeJson(resealed(m)), MANIFEST_PATH), 'HF_FORMAT', 'files[1].hash', 'is not the hash of the file\'s chunk digests');
    const single = v21();
    single.files[0].hash = `sha256-chunks:${'0'.repeat(64)}`;
    expectError(() => parseManifest(encodeJson(resealed(single)), MANIFEST_PATH), 'HF_FORMAT', 'files[0].hash', 'more than one chunk');
  });

  test('the manifest hash itself stays plain SHA-256', () => {
    const m = sealManifest(v21() as Omit<Manifest, 'manifestHash'>) as Mutable;
    m.manifestHash = `sha256-chunks:${'0'.repeat(64)}`;
    expectError(() => parseManifest(encodeJson(m), MANIFEST_PATH), 'HF_FORMAT', 'manifestHash');
  });
});
