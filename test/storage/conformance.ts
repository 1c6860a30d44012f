/**
 * What every `CheckpointStorage` must do, seen through the public store
 * (`openStore({ storage })`) and, for races without a lease, through
 * `commitCheckpoint`: run against the local store (memory and real disk) and
 * the object twin, so a behaviour passing on one backend means the same
 * engine code passes on the others.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { commitCheckpoint } from '../../src/commit/commit-checkpoint.js';
import { planShards } from '../../src/commit/plan-shards.js';
import type { Tensor } from '../../src/format/dtype.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store, StoreOptions } from '../../src/store/types.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { rankConformance } from './rank-conformance.js';

export interface CrashingStorage {
  storage: CheckpointStorage;
  /** Calls made through it so far (a run without a crash tells the campaign how many to try). */
  calls(): number;
}

export interface StorageFixture {
  /** A new storage over the shared backing state: another process's view of the same store. */
  open(): Promise<CheckpointStorage>;
  /** Damages one byte of file `name` (or `manifest.json`) of committed checkpoint `step`. */
  corrupt(step: number, name: string): Promise<void>;
  /** Where `commitFiles` finds its sources, and a directory on it to put them in. */
  sourceFs: FileSystem;
  scratch: string;
  /**
   * A storage over the same state whose `index`-th call (counted from now) fails as `mode` says
   * (Infinity: never). Absent when the backend has no fault hooks.
   */
  crashing?: (index: number, mode: string) => Promise<CrashingStorage>;
  crashModes?: readonly string[];
  cleanup(): Promise<void>;
}

/** A short lease: a crashed writer's record expires quickly; `wait` so racing stores take turns. */
const STORE_OPTIONS: StoreOptions = { lease: { ifHeld: 'wait', ttlMs: 2_000, waitMs: 20_000 } };

async function storeOver(fx: StorageFixture, storage?: CheckpointStorage): Promise<Store> {
  return openStore({ storage: storage ?? (await fx.open()) }, { ...STORE_OPTIONS, fs: fx.sourceFs });
}

export function assertSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>, what: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${what}: tensor names`);
  for (const [name, t] of Object.entries(expected)) {
    const got = actual[name]!;
    assert.equal(got.dtype, t.dtype, `${what}: dtype of ${name}`);
    assert.deepEqual(got.shape, t.shape, `${what}: shape of ${name}`);
    assert.ok(bytesOf(got).equals(bytesOf(t)), `${what}: bytes of ${name} differ`);
  }
}

const SHARD = 'r0000-p000.safetensors';

export function storageConformance(name: string, make: () => Promise<StorageFixture>): void {
  describe(`CheckpointStorage conformance: ${name}`, () => {
    const withFixture = (title: string, body: (fx: StorageFixture) => Promise<void>): void => {
      it(title, async () => {
        const fx = await make();
        try {
          await body(fx);
        } finally {
          await fx.cleanup();
        }
      });
    };

    withFixture('save, list, restore (bit-exact), verify, latest; another process sees the same; a step is never saved twice', async (fx) => {
      const store = await storeOver(fx);
      await store.save(1, { tensors: sampleTensors(1), state: { step: 1 } });
      await store.save(2, { tensors: sampleTensors(2), state: { step: 2, lr: 0.5 } });
      assert.deepEqual((await store.list()).map((c) => c.step), [1, 2]);
      const other = await storeOver(fx);
      const newest = await other.restore();
      assert.equal(newest.step, 2);
      assert.deepEqual(newest.state, { step: 2, lr: 0.5 });
      assertSameTensors(newest.tensors, sampleTensors(2), 'restore()');
      assertSameTensors((await other.restore(1)).tensors, sampleTensors(1), 'restore(1)');
      assert.deepEqual((await other.verify()).map((r) => [r.step, r.ok]), [[1, true], [2, true]]);
      assert.equal((await other.latest())?.step, 2);
      assert.equal((await other.inspect(2)).step, 2);
      await assert.rejects(other.save(2, { tensors: sampleTensors(3) }), (e) => isHoldfastError(e, 'HF_STEP_EXISTS'));
      assertSameTensors((await store.restore(2)).tensors, sampleTensors(2), 'step 2 after a refused second save');
    });

    withFixture('commitFiles copies opaque files in; restoreFiles copies them out verified, byte for byte', async (fx) => {
      const store = await storeOver(fx);
      const source = `${fx.scratch}/model.pt`;
      const payload = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7) & 0xff);
      await writeNewFile(fx.sourceFs, source, payload, { sync: false });
      await store.commitFiles(3, [source]);
      const out = `${fx.scratch}/out`;
      assert.deepEqual((await store.restoreFiles(3, out)).files.length, 1);
      assert.ok(Buffer.from(await readWholeFile(fx.sourceFs, `${out}/model.pt`)).equals(Buffer.from(payload)));
    });

    for (const file of [SHARD, 'manifest.json', 'SHA256SUMS']) {
      withFixture(`a damaged ${file}: verify reports it, latest quarantines and rolls back, restore returns the older one`, async (fx) => {
        const store = await storeOver(fx);
        await store.save(1, { tensors: sampleTensors(1), state: 1 });
        await store.save(2, { tensors: sampleTensors(2), state: 2 });
        await fx.corrupt(2, file);
        assert.deepEqual((await store.verify()).map((r) => r.ok), [true, false]);
        const latest = await store.latest();
        assert.equal(latest?.step, 1);
        assert.deepEqual(latest?.skipped.map((s) => s.step), [2]);
        assert.deepEqual((await store.list()).map((c) => c.step), [1], 'quarantined out of the listing');
        const restored = await (await storeOver(fx)).restore();
        assert.equal(restored.step, 1);
        assertSameTensors(restored.tensors, sampleTensors(1), 'rolled back');
        // The step can be saved again once its broken checkpoint is out of the way.
        await store.save(2, { tensors: sampleTensors(5), state: 'again' });
        assertSameTensors((await store.restore()).tensors, sampleTensors(5), 'step 2 saved again');
      });
    }

    withFixture('gc keeps the newest N and the newest valid one; a fresh store still restores what was kept', async (fx) => {
      const store = await storeOver(fx);
      for (const step of [1, 2, 3, 4]) await store.save(step, { tensors: sampleTensors(step), state: step });
      assert.deepEqual((await store.gc({ keepLast: 3 })).removedSteps, [1]);
      await fx.corrupt(4, SHARD);
      assert.deepEqual((await store.gc({ keepLast: 1, stagingGraceMs: 0 })).removedSteps, [2]);
      const fresh = await storeOver(fx);
      assert.deepEqual((await fresh.list()).map((c) => c.step), [3]);
      const restored = await fresh.restore();
      assert.equal(restored.step, 3);
      assertSameTensors(restored.tensors, sampleTensors(3), 'kept by gc');
    });

    withFixture('two stores save one step at once (writer lease, wait): exactly one commits, the other gets HF_STEP_EXISTS', async (fx) => {
      const [a, b] = [await storeOver(fx), await storeOver(fx)];
      const results = await Promise.allSettled([a.save(7, { tensors: sampleTensors(70), state: 'a' }), b.save(7, { tensors: sampleTensors(71), state: 'b' })]);
      assertOneWinner(results);
      const winner = results[0].status === 'fulfilled' ? 70 : 71;
      const restored = await (await storeOver(fx)).restore(7);
      assertSameTensors(restored.tensors, sampleTensors(winner), 'the winner of the race');
      assert.equal(restored.state, winner === 70 ? 'a' : 'b');
    });

    withFixture('two writers commit one step at once without the lease: exactly one commits, the other gets HF_STEP_EXISTS', async (fx) => {
      const [sa, sb] = [await fx.open(), await fx.open()];
      const io = new IoRuntime({ hashWorkers: 0 });
      const content = (seed: number) => ({ shards: planShards(sampleTensors(seed), 1 << 20), files: [], state: seed });
      const results = await Promise.allSettled([
        commitCheckpoint({ storage: sa, fs: fx.sourceFs, io, mode: 'atomic_dirsync' }, 8, content(80)),
        commitCheckpoint({ storage: sb, fs: fx.sourceFs, io, mode: 'atomic_dirsync' }, 8, content(81)),
      ]);
      assertOneWinner(results);
      const winner = results[0].status === 'fulfilled' ? 80 : 81;
      const restored = await (await storeOver(fx)).restore(8);
      assertSameTensors(restored.tensors, sampleTensors(winner), 'the winner of the lease-less race');
      assert.equal(restored.state, winner);
    });

    rankConformance(withFixture);

    it('a crash (or failure) at every call of a save leaves the previous checkpoint or the new one, bit-exact, never anything else', async (t) => {
      const probe = await make();
      const modes = probe.crashModes ?? [];
      await probe.cleanup();
      if (probe.crashing === undefined || modes.length === 0) {
        t.skip('this backend has no fault hooks');
        return;
      }
      for (const mode of modes) await crashCampaign(make, mode);
    });
  });
}

function assertOneWinner(results: PromiseSettledResult<unknown>[]): void {
  const won = results.filter((r) => r.status === 'fulfilled').length;
  assert.equal(won, 1, `exactly one writer commits, got ${won}: ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join(' / ')}`);
  const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
  assert.ok(isHoldfastError(lost.reason, 'HF_STEP_EXISTS'), `the loser gets HF_STEP_EXISTS, got ${String(lost.reason)}`);
}

/** Checkpoint 1 committed; then a save of 2 that fails at call i, for every i the save makes. */
async function crashCampaign(make: () => Promise<StorageFixture>, mode: string): Promise<void> {
  const total = await savedWithFault(make, Infinity, mode);
  assert.ok(total.calls > 5, `${mode}: the dry run made ${total.calls} calls`);
  assert.equal(total.survivor, 2);
  const seen = new Set<number>();
  for (let i = 0; i < total.calls; i++) seen.add((await savedWithFault(make, i, mode)).survivor);
  assert.ok(seen.has(1), `${mode}: some crash must leave the previous checkpoint (saw ${[...seen].join(',')})`);
}

async function savedWithFault(make: () => Promise<StorageFixture>, index: number, mode: string): Promise<{ calls: number; survivor: number }> {
  const fx = await make();
  try {
    await (await storeOver(fx)).save(1, { tensors: sampleTensors(1), state: 1 });
    const faulty = await fx.crashing!(index, mode);
    let reported = false;
    try {
      await (await storeOver(fx, faulty.storage)).save(2, { tensors: sampleTensors(2), state: 2 });
      reported = true;
    } catch (e) {
      assert.ok(Number.isFinite(index), `the dry run must not fail: ${String(e)}`);
    }
    const what = `${mode} at call ${index}`;
    const fresh = await storeOver(fx);
    // Stronger than "restore finds a good one": nothing committed is broken (no rollback was needed).
    const listed = (await fresh.verify()).map((r) => [r.step, r.ok]);
    assert.ok(JSON.stringify(listed) === '[[1,true]]' || JSON.stringify(listed) === '[[1,true],[2,true]]', `${what}: committed after the fault: ${JSON.stringify(listed)}`);
    const check = async (when: string): Promise<number> => {
      const restored = await fresh.restore();
      assert.deepEqual(restored.skipped, [], `${what} ${when}: nothing to roll back past`);
      assert.ok(restored.step === 1 || restored.step === 2, `${what} ${when}: restored step ${restored.step}`);
      assert.equal(restored.state, restored.step, `${what} ${when}: state`);
      assertSameTensors(restored.tensors, sampleTensors(restored.step), `${what} ${when}`);
      if (reported) assert.equal(restored.step, 2, `${what}: the save reported committed, so step 2 must restore`);
      return restored.step;
    };
    const survivor = await check('right after');
    // gc sweeps the leftovers (no grace): it must never take a byte the survivor needs.
    await fresh.gc({ keepLast: 5, stagingGraceMs: 0 });
    assert.equal(await check('after gc'), survivor, `${what}: gc changed which checkpoint restores`);
    // And the store stays writable: the crashed writer's lease is taken over.
    await fresh.save(3, { tensors: sampleTensors(3), state: 3 });
    assertSameTensors((await fresh.restore()).tensors, sampleTensors(3), `${what}: a save after the crash`);
    return { calls: faulty.calls(), survivor };
  } finally {
    await fx.cleanup();
  }
}
