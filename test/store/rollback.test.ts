import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { openStore } from '../../src/store/open-store.js';
import type { StoreEvent } from '../../src/store/types.js';
import { flipBit } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

async function twoCheckpoints(root: string, events: StoreEvent[] = []) {
  const store = await openStore(root, { onEvent: (e) => events.push(e) });
  await store.save(1, { tensors: sampleTensors(1), state: { step: 1 } });
  const second = await store.save(2, { tensors: sampleTensors(2), state: { step: 2 } });
  return { store, second };
}

const shardOf = (ckpt: string) => join(ckpt, 'r0000-p000.safetensors');

// Offsets inside the shard: the length prefix, the JSON header, the data region.
for (const [where, offsetOf] of [
  ['length prefix', () => 0],
  ['JSON header', () => 20],
  ['tensor data', (size: number) => size - 1],
] as const) {
  test(`one flipped bit in the shard's ${where}: verify fails, latest rolls back and quarantines`, async (t) => {
    const root = tempDir(t);
    const events: StoreEvent[] = [];
    const { store, second } = await twoCheckpoints(root, events);
    flipBit(shardOf(second.path), offsetOf(statSync(shardOf(second.path)).size), 3);

    const reports = await store.verify();
    assert.deepEqual(reports.map((r) => r.ok), [true, false]);
    assert.equal(reports[1]!.problems[0]!.file, 'r0000-p000.safetensors');
    assert.equal(reports[1]!.problems[0]!.reason, 'hash');
    assert.ok(existsSync(second.path), 'verify changes nothing on disk');

    const latest = await store.latest();
    assert.equal(latest?.step, 1);
    assert.equal(latest?.skipped[0]?.step, 2);
    assert.equal(existsSync(second.path), false);
    const quarantined = readdirSync(join(root, '.quarantine'));
    assert.equal(quarantined.length, 1);
    assert.match(quarantined[0]!, /^ckpt-000000000002-/);
    assert.ok(existsSync(join(root, '.quarantine', quarantined[0]!, 'r0000-p000.safetensors')), 'moved, not deleted');
    assert.deepEqual(events.map((e) => e.type), ['quarantined', 'rolled-back']);
    assert.match(readFileSync(join(root, 'audit.log'), 'utf8'), /"action":"quarantine","user":"[^"]*","pid":\d+,"step":2/);
    assert.deepEqual((await store.restore()).state, { step: 1 });
  });
}

test('one flipped bit in the manifest: verify reports a bad manifest and restore rolls back', async (t) => {
  const root = tempDir(t);
  const { store, second } = await twoCheckpoints(root);
  flipBit(join(second.path, 'manifest.json'), 40, 1);
  const [, bad] = await store.verify();
  assert.equal(bad!.ok, false);
  assert.equal(bad!.problems[0]!.reason, 'bad-manifest');
  const restored = await store.restore();
  assert.equal(restored.step, 1);
  assert.equal(restored.skipped[0]!.step, 2);
});

test('restore of a named corrupt step refuses instead of silently rolling back', async (t) => {
  const { store, second } = await twoCheckpoints(tempDir(t));
  flipBit(shardOf(second.path), statSync(shardOf(second.path)).size - 2);
  await assert.rejects(store.restore(2), (e) => isHoldfastError(e, 'HF_CORRUPT') && /SHA-256 mismatch/.test(e.message));
});

test('when every checkpoint is corrupt, restore fails with HF_NO_VALID_CHECKPOINT and deletes nothing', async (t) => {
  const root = tempDir(t);
  const { store, second } = await twoCheckpoints(root);
  flipBit(shardOf(second.path), 4100);
  flipBit(shardOf(join(root, 'ckpt-000000000001')), 4100);
  await assert.rejects(store.restore(), (e) => isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT'));
  assert.equal(readdirSync(join(root, '.quarantine')).length, 2);
  assert.equal(await store.latest(), null);
});

test('staging leftovers past the grace period are swept by gc; manifest-less ckpt directories are quarantined, not deleted', async (t) => {
  const root = tempDir(t);
  const { store } = await twoCheckpoints(root);
  const leftover = join(root, '.staging', '000000000003-deadbeef');
  mkdirSync(leftover, { recursive: true });
  writeFileSync(join(leftover, 'r0000-p000.safetensors'), 'partial');
  mkdirSync(join(root, 'ckpt-000000000004'));
  writeFileSync(join(root, 'ckpt-000000000004', 'r0000-p000.safetensors'), 'torn');
  assert.deepEqual((await store.list()).map((c) => c.step), [1, 2]);
  assert.equal((await store.latest())?.step, 2);
  // Within the grace period a staging entry may belong to a paused save: kept.
  const young = await store.gc({ keepLast: 5 });
  assert.deepEqual(young.removedStaging, []);
  assert.ok(existsSync(leftover));
  const gc = await store.gc({ keepLast: 5, stagingGraceMs: 0 });
  assert.deepEqual(gc.removedSteps, []);
  assert.deepEqual(gc.removedStaging, [leftover]);
  assert.deepEqual(readdirSync(join(root, '.staging')), []);
  assert.equal(existsSync(join(root, 'ckpt-000000000004')), false);
  const quarantined = readdirSync(join(root, '.quarantine'));
  assert.equal(quarantined.length, 1);
  assert.equal(readFileSync(join(root, '.quarantine', quarantined[0]!, 'r0000-p000.safetensors'), 'utf8'), 'torn');
});

test('gc keeps the newest N, and never the newest valid one even when newer ones are corrupt', async (t) => {
  const root = tempDir(t);
  const store = await openStore(root);
  for (const step of [1, 2, 3, 4]) await store.save(step, { tensors: sampleTensors(step) });
  assert.deepEqual((await store.gc({ keepLast: 3 })).removedSteps, [1]);
  // Corrupt 4 without letting anyone quarantine it first: gc must keep 3 (the newest valid).
  flipBit(shardOf(join(root, 'ckpt-000000000004')), 4200);
  const gc = await store.gc({ keepLast: 1 });
  assert.deepEqual(gc.removedSteps, [2]);
  assert.deepEqual((await store.list()).map((c) => c.step), [3]);
  assert.equal((await store.restore()).step, 3);
});

test("verify: 'sizes' catches a truncated shard but, by design, not a flipped data bit", async (t) => {
  const root = tempDir(t);
  const { second } = await twoCheckpoints(root);
  const store = await openStore(root, { verify: 'sizes' });
  flipBit(shardOf(second.path), statSync(shardOf(second.path)).size - 1);
  assert.equal((await store.verify(2))[0]!.ok, true);
  truncateSync(shardOf(second.path), 4096);
  const [report] = await store.verify(2);
  assert.equal(report!.problems[0]!.reason, 'size');
});
