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
  /**
   * A slow backend (a real server) samples the gc campaign: these modes, every `stride`-th call from a
   * random offset (printed with a failure). HOLDFAST_FULL_CAMPAIGNS=1 runs every mode at every call.
   */
  gcCampaignSample?: { modes: readonly string[]; stride: number };
  cleanup(): Promise<void>;
}

/** A short lease: a crashed writer's record expires quickly; `wait` so racing stores take turns. */
const STORE_OPTIONS: StoreOptions = { lease: { ifHeld: 'wait', ttlMs: 2_000, waitMs: 20_000 } };

async function storeOver(fx: StorageFixture, storage?: CheckpointStorage, options: StoreOptions = {}): Promise<Store> {
  // Small shards: an incremental series gets a file per tensor, so frozen tensors are kept, not rewritten.
  return openStore({ storage: storage ?? (await fx.open()) }, { ...STORE_OPTIONS, fs: fx.sourceFs, shardSizeBytes: 1, ...options });
}

const ENCRYPTION_SECRET = 'an encryption secret of at least 32 bytes';
const OTHER_ENCRYPTION_SECRET = 'another encryption secret, also 32+ bytes';

/** Fresh sample tensors plus two that never change (frozen layers). */
function withFrozen(seed: number): Record<string, Tensor> {
  const frozen = sampleTensors(1000);
  return { ...sampleTensors(seed), 'frozen.embed': frozen['f32.weight']!, 'frozen.norm': frozen['f64']! };
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

    withFixture('records: written, replaced whole, listed, read by another process, removed; names are checked', async (fx) => {
      const a = await fx.open();
      assert.deepEqual(await a.records.list(), []);
      assert.equal(await a.records.read('note.x'), undefined);
      await a.records.write('note.x', new TextEncoder().encode('one'));
      await a.records.write('note.y', new TextEncoder().encode('two'));
      await a.records.write('note.x', new TextEncoder().encode('three, longer'));
      const b = await fx.open();
      assert.deepEqual(await b.records.list(), ['note.x', 'note.y']);
      assert.equal(new TextDecoder().decode(await b.records.read('note.x')), 'three, longer');
      await b.records.remove('note.x');
      await b.records.remove('note.x');
      assert.deepEqual(await a.records.list(), ['note.y']);
      assert.equal(await a.records.read('note.x'), undefined);
      for (const bad of ['', '.hidden', 'a/b', '../x', 'x'.repeat(129)]) {
        await assert.rejects(a.records.write(bad, new Uint8Array(1)), (e) => isHoldfastError(e, 'HF_INVALID_ARG'), JSON.stringify(bad));
      }
      // Records are not checkpoints, and gc leaves them alone.
      await (await storeOver(fx)).save(1, { tensors: sampleTensors(1), state: 1 });
      await (await storeOver(fx)).gc({ keepLast: 1, stagingGraceMs: 0 });
      assert.deepEqual(await b.records.list(), ['note.y']);
    });

    withFixture('retention: tags survive gc and are listed; combined rules; opt-in retention after each commit', async (fx) => {
      const store = await storeOver(fx);
      for (const step of [1, 2, 3, 4, 5, 6]) await store.save(step, { tensors: sampleTensors(step), state: { eval: { loss: step === 2 ? 0.01 : 1 / step } } });
      await store.tag(3, 'release');
      const other = await storeOver(fx);
      assert.deepEqual(await other.tags(), [{ name: 'release', step: 3 }]);
      const dry = await other.gc({ keepLast: 1, keepBest: { count: 1, metric: 'eval.loss', mode: 'min' }, dryRun: true });
      assert.deepEqual(dry.removedSteps, [1, 4, 5]);
      assert.deepEqual((await other.list()).map((c) => c.step), [1, 2, 3, 4, 5, 6], 'a dry run deletes nothing');
      assert.deepEqual((await other.gc({ keepLast: 1, keepBest: { count: 1, metric: 'eval.loss', mode: 'min' } })).removedSteps, [1, 4, 5]);
      assert.deepEqual((await store.list()).map((c) => [c.step, c.tags]), [[2, []], [3, ['release']], [6, []]]);
      assertSameTensors((await (await storeOver(fx)).restore(3)).tensors, sampleTensors(3), 'the tagged checkpoint');
      await store.untag('release');
      const events: unknown[] = [];
      const auto = await openStore({ storage: await fx.open() }, { ...STORE_OPTIONS, fs: fx.sourceFs, retention: { keepLast: 2 }, onEvent: (e) => events.push(e) });
      await auto.save(7, { tensors: sampleTensors(7), state: 7 });
      assert.deepEqual((await auto.list()).map((c) => c.step), [6, 7]);
      assert.deepEqual(events, [{ type: 'retention', afterStep: 7, removedSteps: [2, 3] }]);
      assertSameTensors((await auto.restore()).tensors, sampleTensors(7), 'the newest after retention');
    });

    withFixture('incremental: unchanged tensors are kept from the parent, not written; restore and verify follow; a broken parent fails the child; gc keeps parents', async (fx) => {
      const store = await storeOver(fx);
      const first = await store.save(1, { tensors: withFrozen(1), state: 1 }, { incremental: true });
      assert.equal(first.keptBytes, 0, 'the first save of a series is full');
      const second = await store.save(2, { tensors: withFrozen(2), state: 2 }, { incremental: true });
      const third = await store.save(3, { tensors: withFrozen(3), state: 3 }, { incremental: true });
      assert.ok(second.keptBytes! > 0 && second.keptBytes! < second.bytes, `kept ${second.keptBytes} of ${second.bytes}`);
      const m3 = await store.inspect(3);
      const m1 = await store.inspect(1);
      assert.equal(m3.version, '2.1');
      assert.equal(m3.parent, 2);
      const sources = m3.files.filter((f) => f.source !== undefined);
      const fileOf = (tensor: string): string => m3.tensors[tensor]!.slabs[0]!.file;
      const kept = new Set(sources.map((f) => f.path));
      assert.ok(kept.has(fileOf('frozen.embed')) && kept.has(fileOf('frozen.norm')), 'the frozen tensors are kept');
      assert.ok(!kept.has(fileOf('f32.weight')) && !kept.has(fileOf('u8')), 'trained tensors are written');
      // References point at the checkpoint that holds the bytes: they never chain through 2.
      assert.ok(sources.every((f) => f.source!.step === 1 && f.source!.nonce === m1.nonce));
      assert.equal(third.keptBytes, second.keptBytes);
      const other = await storeOver(fx);
      assertSameTensors((await other.restore(3)).tensors, withFrozen(3), 'restore of an incremental checkpoint');
      assert.deepEqual((await other.verify()).map((r) => [r.step, r.ok]), [[1, true], [2, true], [3, true]]);
      // gc: keeping only the newest keeps the parent it references, and says why.
      const gc = await other.gc({ keepLast: 1 });
      assert.deepEqual(gc.removedSteps, [2]);
      assert.deepEqual(gc.verdicts.find((v) => v.step === 1)!.reasons, [{ rule: 'referenced', detail: 'files referenced by kept checkpoint 3' }]);
      assertSameTensors((await (await storeOver(fx)).restore()).tensors, withFrozen(3), 'after gc');
      // A damaged kept file fails the child too.
      await fx.corrupt(1, sources[0]!.path);
      const reports = await other.verify();
      assert.deepEqual(reports.map((r) => [r.step, r.ok]), [[1, false], [3, false]]);
      assert.equal(reports[1]!.problems[0]!.reason, 'hash');
      await assert.rejects(other.restore(), (e) => isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT'));
    });

    withFixture('incremental: fullEvery writes every K-th save in full; a parent that is gone makes the child fail, not read another', async (fx) => {
      const store = await storeOver(fx);
      for (const step of [1, 2, 3, 4, 5]) await store.save(step, { tensors: withFrozen(step), state: step }, { incremental: true, fullEvery: 3 });
      const keeps = async (step: number): Promise<boolean> => (await store.inspect(step)).files.some((f) => f.source !== undefined);
      assert.deepEqual([await keeps(1), await keeps(2), await keeps(3), await keeps(4), await keeps(5)], [false, true, true, false, true]);
      assert.deepEqual([(await store.inspect(3)).parent, (await store.inspect(4)).parent], [2, null]);
      // Step 4 is removed behind retention's back (as a reader's quarantine would): 5 must fail, naming why.
      await (await fx.open()).quarantine(4, 'test: the parent goes');
      const [report] = await store.verify(5);
      assert.equal(report!.ok, false);
      assert.match(report!.problems[0]!.message, /kept in checkpoint 4, which is no longer committed/);
      assertSameTensors((await store.restore()).tensors, withFrozen(3), 'rolled back past the orphan');
    });

    withFixture('incremental and encrypted: unchanged tensors are kept by their keyed plaintext digests; restore and verify decrypt them in their source; gc keeps it; a broken parent fails the child', async (fx) => {
      const store = await storeOver(fx, undefined, { encryption: { key: ENCRYPTION_SECRET } });
      await store.save(1, { tensors: withFrozen(1), state: 1 }, { incremental: true });
      const second = await store.save(2, { tensors: withFrozen(2), state: 2 }, { incremental: true });
      await store.save(3, { tensors: withFrozen(3), state: 3 }, { incremental: true });
      const [m1, m3] = [await store.inspect(1), await store.inspect(3)];
      const kept = m3.files.filter((f) => f.source !== undefined);
      const fileOf = (tensor: string): string => m3.tensors[tensor]!.slabs[0]!.file;
      const keptPaths = new Set(kept.map((f) => f.path));
      assert.ok(keptPaths.has(fileOf('frozen.embed')) && keptPaths.has(fileOf('frozen.norm')), 'the frozen tensors are kept');
      assert.ok(!keptPaths.has(fileOf('f32.weight')) && !keptPaths.has(fileOf('u8')), 'trained tensors are written');
      assert.equal(second.keptBytes, kept.reduce((n, f) => n + f.size, 0));
      assert.ok(second.keptBytes! > 0 && second.keptBytes! < second.bytes, `kept ${second.keptBytes} of ${second.bytes}`);
      for (const f of kept) {
        const held = m1.files.find((p) => p.path === f.path)!;
        assert.deepEqual(f.source, { step: 1, nonce: m1.nonce });
        assert.deepEqual(f.encrypted, held.encrypted, 'the holder\'s nonce prefix and digest, as stored');
        assert.match(f.encrypted!.plainDigest!, /^hmac-sha256:[0-9a-f]{64}$/);
      }
      const other = await storeOver(fx, undefined, { encryption: { key: ENCRYPTION_SECRET } });
      assertSameTensors((await other.restore(3)).tensors, withFrozen(3), 'restore of an encrypted incremental checkpoint');
      const part = await other.restore({ step: 3, layout: { 'frozen.embed': { offset: [1, 0], shape: [2, 5] } } });
      assert.ok(bytesOf(part.tensors['frozen.embed']!).equals(bytesOf(withFrozen(3)['frozen.embed']!).subarray(20, 60)), 'a range of a kept file, decrypted from its source');
      assert.deepEqual((await (await storeOver(fx)).verify()).map((r) => [r.step, r.ok]), [[1, true], [2, true], [3, true]], 'verified without the key');
      assert.deepEqual((await other.verify()).map((r) => [r.step, r.ok]), [[1, true], [2, true], [3, true]], 'verified with the key (headers decrypted, kept ones in their source)');
      const gc = await other.gc({ keepLast: 1 });
      assert.deepEqual(gc.removedSteps, [2]);
      assertSameTensors((await other.restore()).tensors, withFrozen(3), 'after gc');
      await fx.corrupt(1, kept[0]!.path);
      assert.deepEqual((await other.verify()).map((r) => [r.step, r.ok]), [[1, false], [3, false]]);
      await assert.rejects(other.restore(), (e) => isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT'));
    });

    withFixture('incremental and encrypted: a parent under another key, without plaintext digests, or plain (or a plain child of an encrypted one) is written again, never kept', async (fx) => {
      const under = (key: string | undefined): Promise<Store> => storeOver(fx, undefined, key === undefined ? {} : { encryption: { key } });
      const frozen = (step: number): Record<string, Tensor> => ({ 'frozen.embed': withFrozen(0)['frozen.embed']!, moving: sampleTensors(step)['u8']! });
      const series: [number, string | undefined, boolean][] = [
        [1, ENCRYPTION_SECRET, true],
        [2, OTHER_ENCRYPTION_SECRET, true], // another key: its digests would not match anyway, and its key id differs
        [3, OTHER_ENCRYPTION_SECRET, false], // encrypted, not incremental: no plaintext digests recorded
        [4, OTHER_ENCRYPTION_SECRET, true], // so nothing of 3 is kept
        [5, undefined, true], // plain child of an encrypted parent
        [6, ENCRYPTION_SECRET, true], // encrypted child of a plain parent: nothing kept in the clear
        [7, ENCRYPTION_SECRET, true], // and then reuse resumes
      ];
      for (const [step, key, incremental] of series) {
        const r = await (await under(key)).save(step, { tensors: frozen(step), state: step }, { incremental });
        const m = await (await under(key)).inspect(step);
        assert.equal(r.keptBytes ?? 0, step === 7 ? m.files.find((f) => f.path === m.tensors['frozen.embed']!.slabs[0]!.file)!.size : 0, `step ${step}: kept bytes`);
        assert.equal(m.files.some((f) => f.encrypted?.plainDigest !== undefined), key !== undefined && incremental, `step ${step}: plaintext digests only in an encrypted incremental save`);
        assertSameTensors((await (await under(key)).restore(step)).tensors, frozen(step), `step ${step}`);
      }
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

    it('a crash (or failure) at every call of a gc leaves every kept checkpoint valid and never a half-deleted one that looks committed', async (t) => {
      const probe = await make();
      const full = process.env['HOLDFAST_FULL_CAMPAIGNS'] === '1';
      const sample = full ? undefined : probe.gcCampaignSample;
      const modes = sample?.modes ?? probe.crashModes ?? [];
      await probe.cleanup();
      if (probe.crashing === undefined || modes.length === 0) {
        t.skip('this backend has no fault hooks');
        return;
      }
      const stride = sample?.stride ?? 1;
      for (const mode of modes) await gcCrashCampaign(make, mode, stride, Math.floor(Math.random() * stride));
    });
  });
}

/**
 * An incremental series 1–5, a full save every 2nd (2→1, 4→3), 2 tagged; `gc --keep-last 1` keeps 5
 * (full), 2 (tagged) and 1 (2 references it), and deletes 3 and 4, where 4 references 3: deleted
 * in the wrong order, a crash would leave 4 committed without its files. A fault at every call.
 */
async function gcCrashCampaign(make: () => Promise<StorageFixture>, mode: string, stride: number, offset: number): Promise<void> {
  const total = await gcWithFault(make, Infinity, mode);
  assert.ok(total > 10, `${mode}: the dry run made ${total} calls`);
  const label = stride > 1 ? `${mode} (every ${stride}th call from ${offset})` : mode;
  for (let i = offset; i < total; i += stride) await gcWithFault(make, i, mode, label);
}

const GC_POLICY = { keepLast: 1, stagingGraceMs: 0 };

async function gcWithFault(make: () => Promise<StorageFixture>, index: number, mode: string, label = mode): Promise<number> {
  const fx = await make();
  try {
    const setup = await storeOver(fx);
    for (const step of [1, 2, 3, 4, 5]) await setup.save(step, { tensors: withFrozen(step), state: step }, { incremental: true, fullEvery: 2 });
    await setup.tag(2, 'keep');
    const faulty = await fx.crashing!(index, mode);
    try {
      assert.deepEqual((await (await storeOver(fx, faulty.storage)).gc(GC_POLICY)).removedSteps, [3, 4]);
    } catch (e) {
      assert.ok(Number.isFinite(index), `the dry run must not fail: ${String(e)}`);
    }
    const what = `gc with ${label} at call ${index}`;
    const fresh = await storeOver(fx);
    // Every checkpoint still listed (committed) verifies: a deletion was all or nothing.
    const listed = (await fresh.verify()).map((r) => [r.step, r.ok] as const);
    assert.ok(listed.every(([, ok]) => ok), `${what}: a committed checkpoint is broken: ${JSON.stringify(listed)}`);
    const steps = listed.map(([s]) => s);
    assert.ok([1, 2, 5].every((k) => steps.includes(k)), `${what}: a kept checkpoint is gone: ${JSON.stringify(steps)}`);
    // Running gc again finishes the job, and what was kept restores bit-exact.
    await fresh.gc(GC_POLICY);
    assert.deepEqual((await fresh.list()).map((c) => c.step), [1, 2, 5], `${what}: after a second gc`);
    for (const step of [1, 2, 5]) assertSameTensors((await fresh.restore(step)).tensors, withFrozen(step), `${what}: step ${step}`);
    return faulty.calls();
  } finally {
    await fx.cleanup();
  }
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
