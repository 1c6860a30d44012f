import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SHARD_BYTES, assertPlanWithinLimits, planShards, shardEntries } from '../../src/commit/plan-shards.js';
import { MANIFEST_FILE } from '../../src/format/names.js';
import { draftManifest } from '../../src/format/save-limits.js';
import { encodeManifest, parseManifest } from '../../src/format/manifest.js';
import { readWholeFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { openStore } from '../../src/store/open-store.js';
import { expectError } from '../format/fixtures.js';
import { sampleTensors } from '../helpers/tensors.js';

describe('planShards refuses what readers refuse, before anything is written', () => {
  // Before: BOOL bytes other than 0/1 were stored unchecked.
  test('BOOL bytes other than 0 and 1, naming the tensor and the first bad index', () => {
    const tensors = { ...sampleTensors(), flags: { dtype: 'BOOL' as const, shape: [5], data: Uint8Array.from([1, 0, 1, 2, 255]) } };
    const e = expectError(() => planShards(tensors, DEFAULT_SHARD_BYTES), 'HF_INVALID_ARG', '"flags"', 'element 3 is 2', 'expected 0 or 1');
    assert.deepEqual(e.data, { tensor: 'flags', index: 3, value: 2 });
  });

  test('a tensor named __metadata__ or with an empty name', () => {
    const t = { dtype: 'U8' as const, shape: [1], data: Uint8Array.from([1]) };
    expectError(() => planShards({ __metadata__: t }, DEFAULT_SHARD_BYTES), 'HF_INVALID_ARG', 'reserved by safetensors');
    expectError(() => planShards({ '': t }, DEFAULT_SHARD_BYTES), 'HF_INVALID_ARG', 'non-empty');
  });
});

describe('assertPlanWithinLimits', () => {
  // The estimate is exact but for the save's timing, which the draft writes at its longest.
  test('its draft manifest is as long as the one a save writes, but for the timing digits', async () => {
    const fs = new MemoryFileSystem();
    const store = await openStore('/s', { fs });
    const tensors = sampleTensors();
    const state = { lr: 0.001, rng: [1, 2, 3], nested: { 'é': null } };
    const res = await store.save(123_456, { tensors, state });
    const written = await readWholeFile(fs, `${res.path}/${MANIFEST_FILE}`);
    const manifest = parseManifest(written, MANIFEST_FILE);
    const shards = planShards(tensors, DEFAULT_SHARD_BYTES);
    const planned = { step: 123_456, shards: shards.map((s) => ({ fileName: s.fileName, rank: s.rank, entries: shardEntries(s) })), files: [], state, provenance: manifest.provenance };
    const slack = encodeManifest(draftManifest(planned)).byteLength - written.byteLength;
    assert.ok(slack >= 0 && slack <= 2 * 'TIMING_MAX_MS 999999999.999'.length, `draft − written = ${slack} bytes`);
    assertPlanWithinLimits({ step: 123_456, shards, files: [], state, provenance: manifest.provenance });
  });

  test('refuses an oversized state with HF_INVALID_ARG naming MANIFEST_MAX_BYTES', () => {
    const shards = planShards(sampleTensors(), DEFAULT_SHARD_BYTES);
    const provenance = { library: 'x', host: 'h', user: 'u', pid: 1 };
    expectError(() => assertPlanWithinLimits({ step: 1, shards, files: [], state: { blob: 'x'.repeat(64 * 1024 * 1024) }, provenance }), 'HF_INVALID_ARG', 'MANIFEST_MAX_BYTES');
  });
});

describe('save refuses up front what readers refuse', () => {
  test('a state that would push the manifest over MANIFEST_MAX_BYTES: HF_INVALID_ARG, nothing written', async () => {
    const fs = new MemoryFileSystem();
    const store = await openStore('/s', { fs });
    const before = fs.digest();
    await assert.rejects(store.save(1, { tensors: sampleTensors(), state: { blob: 'x'.repeat(64 * 1024 * 1024) } }), (e: unknown) => {
      expectError(() => { throw e; }, 'HF_INVALID_ARG', 'MANIFEST_MAX_BYTES');
      return true;
    });
    assert.equal(fs.digest(), before, 'the save must not write (or leave) anything');
  });

  test('a state nested deeper than readers accept: HF_INVALID_ARG, nothing written', async () => {
    const fs = new MemoryFileSystem();
    const store = await openStore('/s', { fs });
    const before = fs.digest();
    const state = JSON.parse('['.repeat(64) + ']'.repeat(64)) as never;
    await assert.rejects(store.save(1, { tensors: sampleTensors(), state }), { code: 'HF_INVALID_ARG' });
    assert.equal(fs.digest(), before);
  });
});
