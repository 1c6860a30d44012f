/** The write side of the readers' limits: a save a reader would refuse is refused before anything is written. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { byteLengthOf, type DType } from '../../src/format/dtype.js';
import { MANIFEST_MAX_BYTES, STATE_MAX_DEPTH } from '../../src/format/limits.js';
import { encodeManifest, parseManifest, sealManifest } from '../../src/format/manifest.js';
import { DEFAULT_CHUNK_BYTES, type Provenance } from '../../src/format/manifest-types.js';
import { SIGNATURE_RESERVE_BYTES, assertSaveWithinLimits, draftManifest, type SavePlan } from '../../src/format/save-limits.js';
import { expectError } from './fixtures.js';

const PROVENANCE: Provenance = { library: 'holdfast 0.1.0', host: 'node-7', user: 'alice', pid: 1234 };

function entry(name: string, dtype: DType, shape: number[]) {
  return { name, dtype, shape, byteLength: byteLengthOf(dtype, shape) };
}

function plan(state: unknown, overrides: Partial<SavePlan> = {}): SavePlan {
  return {
    step: 7,
    shards: [{ fileName: 'r0000-p000.safetensors', rank: 0, entries: [entry('w', 'F32', [4, 4]), entry('mask', 'BOOL', [3])] }],
    files: [],
    state,
    provenance: PROVENANCE,
    ...overrides,
  };
}

const manifestBytes = (p: SavePlan): number => encodeManifest(draftManifest(p)).byteLength;

describe('assertSaveWithinLimits', () => {
  test('a draft manifest is one every reader accepts', () => {
    const { manifestHash: _placeholder, ...draft } = draftManifest(plan({ lr: 0.001 }));
    const m = parseManifest(encodeManifest(sealManifest(draft)), '/draft/manifest.json');
    assert.deepEqual(m.tensors['w']!.slabs[0]!.byteRange, [4096, 4096 + 64]);
    assert.equal(m.files[0]!.size, 4096 + 64 + 3);
  });

  // Before: a state that pushed the manifest over the readers' 64 MiB cap saved fine, then every reader quarantined it.
  test('refuses, naming the limit, a save whose manifest would exceed MANIFEST_MAX_BYTES, to the byte (room kept for a signature)', () => {
    const base = manifestBytes(plan({ pad: '' }));
    const room = MANIFEST_MAX_BYTES - SIGNATURE_RESERVE_BYTES;
    const fits = plan({ pad: 'x'.repeat(room - base) });
    assert.equal(manifestBytes(fits), room);
    assertSaveWithinLimits(fits);
    const over = plan({ pad: 'x'.repeat(room - base + 1) });
    const e = expectError(() => assertSaveWithinLimits(over), 'HF_INVALID_ARG', 'MANIFEST_MAX_BYTES', `${MANIFEST_MAX_BYTES + 1} bytes`);
    assert.equal(e.data['limit'], 'MANIFEST_MAX_BYTES');
  });

  // Before: the draft left out `encryption`, the tags in stored sizes and every file's `encrypted`, so an encrypted save just under the cap committed a manifest over it.
  test('an encrypted save is measured with its encryption fields: a plan that fits the cap in the clear is refused once encrypted, more so incremental', () => {
    const files = [{ name: 'opt.bin', sizeBytes: 3 * DEFAULT_CHUNK_BYTES }];
    const base = manifestBytes(plan({ pad: '' }, { files }));
    const room = MANIFEST_MAX_BYTES - SIGNATURE_RESERVE_BYTES;
    const fits = plan({ pad: 'x'.repeat(room - base) }, { files });
    const clear = manifestBytes(fits);
    const encryption = { alg: 'aes-256-gcm', keyId: 'k'.repeat(128), chunkBytes: DEFAULT_CHUNK_BYTES } as const;
    const encrypted = { ...fits, encryption };
    const m = draftManifest(encrypted);
    assert.deepEqual(m.encryption, encryption);
    assert.deepEqual(m.files.map((f) => f.size - f.encrypted!.plainSize), [16, 3 * 16], 'stored sizes: one tag per record');
    assert.deepEqual(m.files[1]!.chunks!.sha256.length, 4, 'chunk digests of the stored bytes: 3 records of 8 MiB and their tags spill into a fourth chunk');
    assert.ok(m.files.every((f) => f.encrypted!.noncePrefix.length === 16 && f.encrypted!.plainDigest === undefined));
    const incremental = draftManifest({ ...encrypted, incremental: true });
    assert.match(incremental.files[0]!.encrypted!.plainDigest!, /^hmac-sha256:0{64}$/);
    assert.equal(incremental.files[1]!.encrypted!.plainDigest, undefined, 'opaque files are never kept: no digest');
    assert.deepEqual(incremental.files[0]!.source, { step: 7, nonce: '0'.repeat(32) });
    assert.equal(incremental.parent, 7);
    assert.ok(manifestBytes({ ...encrypted, incremental: true }) > manifestBytes(encrypted) && manifestBytes(encrypted) > clear);
    // The schema check of readers accepts such a draft (kept files, plaintext digests) when it is small.
    assertSaveWithinLimits({ ...plan(null, { files }), encryption, incremental: true });
    assert.equal(clear, room, 'in the clear: exactly at the cap');
    assertSaveWithinLimits(fits);
    expectError(() => assertSaveWithinLimits(encrypted), 'HF_INVALID_ARG', 'MANIFEST_MAX_BYTES');
    expectError(() => assertSaveWithinLimits({ ...fits, incremental: true }), 'HF_INVALID_ARG', 'MANIFEST_MAX_BYTES');
  });

  test('refuses a state nested deeper than readers accept, or holding an integer they cannot read exactly', () => {
    const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));
    assertSaveWithinLimits(plan(nested(STATE_MAX_DEPTH)));
    expectError(() => assertSaveWithinLimits(plan(nested(STATE_MAX_DEPTH + 1))), 'HF_INVALID_ARG', `nested deeper than ${STATE_MAX_DEPTH}`);
    expectError(() => assertSaveWithinLimits(plan({ tokens: 2 ** 60 })), 'HF_INVALID_ARG', 'state["tokens"]', '2^53');
    expectError(() => assertSaveWithinLimits(plan({ lr: Number.NaN })), 'HF_INVALID_ARG', 'state["lr"]', 'finite');
    expectError(() => assertSaveWithinLimits(plan({ at: new Date(0) })), 'HF_INVALID_ARG', 'state["at"]');
  });

  test('refuses file names readers refuse or that clash on a case-insensitive file system', () => {
    const files = (...names: string[]) => plan(null, { files: names.map((name) => ({ name, sizeBytes: 1 })) });
    expectError(() => assertSaveWithinLimits(files('a.bin', 'A.bin')), 'HF_INVALID_ARG', 'differ only by case');
    expectError(() => assertSaveWithinLimits(files('Manifest.json')), 'HF_INVALID_ARG', 'reserved');
    expectError(() => assertSaveWithinLimits(files('R0000-P000.safetensors')), 'HF_INVALID_ARG', 'duplicate paths');
    expectError(() => assertSaveWithinLimits(files('x'.repeat(256))), 'HF_INVALID_ARG', 'over 255');
    assertSaveWithinLimits(files('notes.txt'));
  });

  test('refuses an invalid step and reserved tensor names', () => {
    expectError(() => assertSaveWithinLimits(plan(null, { step: -1 })), 'HF_INVALID_ARG', 'step');
    const reserved = plan(null, { shards: [{ fileName: 'r0000-p000.safetensors', rank: 0, entries: [entry('__metadata__', 'U8', [1])] }] });
    expectError(() => assertSaveWithinLimits(reserved), 'HF_INVALID_ARG', 'reserved');
  });
});
