/**
 * The multi-rank save protocol (src/ranks/) on every backend of the
 * conformance suite: the attempt area and epoch records of the seam, then
 * whole multi-rank saves through `openStore(…, { rank, worldSize, attempt })`,
 * each rank over its own storage instance (another process's view). Real
 * processes and kills are the `torture ranks` campaign's.
 */
import assert from 'node:assert/strict';
import { HoldfastError, isHoldfastError } from '../../src/errors.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.js';
import { openStore } from '../../src/store/open-store.js';
import type { RankOptions, RankSaveInput, RankStore } from '../../src/store/rank-store.js';
import { globalContent, rankInput } from '../../src/torture/ranks-content.js';
import { attemptNonce } from '../../src/ranks/attempt-id.js';
import { assertSameTensors, type StorageFixture } from './conformance.js';

type WithFixture = (title: string, body: (fx: StorageFixture) => Promise<void>) => void;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

async function withRanks<T>(fx: StorageFixture, worldSize: number, attempt: string, extra: Partial<RankOptions>, body: (stores: RankStore[], io: IoRuntime) => Promise<T>, storage?: (rank: number, s: CheckpointStorage) => CheckpointStorage): Promise<T> {
  const io = new IoRuntime({ hashWorkers: 0 });
  const stores: RankStore[] = [];
  try {
    for (let rank = 0; rank < worldSize; rank++) {
      const s = await fx.open();
      stores.push(await openStore({ storage: storage?.(rank, s) ?? s }, { fs: fx.sourceFs, runtime: io, rank, worldSize, attempt, deadlineMs: 20_000, commitMarginMs: 5_000, ...extra }));
    }
    return await body(stores, io);
  } finally {
    for (const s of stores) await s.close();
    await io.close();
  }
}

function saveAll(stores: RankStore[], step: number, inputs: (rank: number) => RankSaveInput): Promise<PromiseSettledResult<unknown>[]> {
  return Promise.allSettled(stores.map((s, rank) => s.save(step, inputs(rank))));
}

async function saveRun(fx: StorageFixture, step: number, worldSize: number, attempt: string, seed: number): Promise<void> {
  const content = globalContent(seed, step, worldSize);
  await withRanks(fx, worldSize, attempt, {}, async (stores) => {
    const results = await saveAll(stores, step, (r) => rankInput(content, r, worldSize));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  });
}

async function latestStep(fx: StorageFixture): Promise<number | undefined> {
  const io = new IoRuntime({ hashWorkers: 0 });
  const store = await openStore({ storage: await fx.open() }, { fs: fx.sourceFs, runtime: io });
  try {
    return (await store.latest())?.step;
  } finally {
    await store.close();
    await io.close();
  }
}

function assertAllRejected(results: PromiseSettledResult<unknown>[], code: string, what: string): void {
  results.forEach((r, rank) => {
    assert.equal(r.status, 'rejected', `${what}: rank ${rank} must not report a commit`);
    if (r.status === 'rejected') assert.ok(isHoldfastError(r.reason, code as never), `${what}: rank ${rank} got ${String(r.reason)}`);
  });
}

/** A storage whose attempt area refuses every data file: the rank writes an error record. */
function failingWrites(s: CheckpointStorage): CheckpointStorage {
  const wrapped = Object.create(s) as CheckpointStorage & { joinAttempt: NonNullable<CheckpointStorage['joinAttempt']> };
  wrapped.joinAttempt = async (step, nonce) => ({ ...(await s.joinAttempt!(step, nonce)), writeFile: () => Promise.reject(new HoldfastError('HF_IO', 'injected: disk full')) });
  return wrapped;
}

export function rankConformance(withFixture: WithFixture): void {
  withFixture('ranks: the attempt area creates each record once and lists it; epoch records are exclusive too', async (fx) => {
    const [a, b] = [await fx.open(), await fx.open()];
    const nonce = attemptNonce('area-test');
    const [areaA, areaB] = [await a.joinAttempt!(3, nonce), await b.joinAttempt!(3, nonce)];
    const created = await Promise.all([areaA.putRecord('rank-0001', enc('a')), areaB.putRecord('rank-0001', enc('b'))]);
    assert.deepEqual(created.filter(Boolean).length, 1, 'exactly one writer creates a record');
    assert.equal(dec(await areaB.readRecord('rank-0001')), created[0] ? 'a' : 'b');
    assert.equal(await areaA.putRecord('ABORT', enc('stop')), true);
    assert.deepEqual((await areaB.listRecords()).sort(), ['ABORT', 'rank-0001']);
    assert.equal(await areaA.readRecord('rank-0002'), undefined);
    const w = await areaA.writeFile('r0001-p000.safetensors', [enc('abc'), enc('de')], { runtime: new IoRuntime({ hashWorkers: 0 }) });
    assert.equal(w.sizeBytes, 5);
    assert.deepEqual(await areaB.statFile('r0001-p000.safetensors'), { kind: 'file', sizeBytes: 5 });
    const epochs = await Promise.all([a.epochs!.createExclusive(1, enc('x')), b.epochs!.createExclusive(1, enc('y'))]);
    assert.equal(epochs.filter(Boolean).length, 1, 'exactly one epoch 1');
    assert.equal(await a.epochs!.createExclusive(2, enc('z')), true);
    assert.deepEqual(await b.epochs!.list(), [1, 2]);
    assert.equal(dec(await b.epochs!.read(2)), 'z');
  });

  withFixture('ranks: 4 ranks save (row, column, flat, replicated, own); a fresh store restores bit-exact, with every rank state', async (fx) => {
    const worldSize = 4;
    const content = globalContent(7, 10, worldSize);
    const results = await withRanks(fx, worldSize, 'job-1', {}, (stores) => saveAll(stores, 10, (r) => rankInput(content, r, worldSize)));
    for (const r of results) assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
    await withRanks(fx, 3, 'job-2', {}, async (stores) => {
      const restored = await stores[1]!.restore();
      assert.equal(restored.step, 10);
      assertSameTensors(restored.tensors, content.tensors, 'restored on another world size');
      assert.deepEqual(restored.state, content.state);
      assert.deepEqual(restored.rankState, [0, 1, 2, 3].map((rank) => ({ rank, rng: [7, rank] })));
      assert.equal(restored.manifest.version, '2.1');
      assert.equal(restored.manifest.nonce, attemptNonce('job-1'));
      assert.equal(restored.manifest.world.size, 4);
      // Replicated tensors are written once.
      assert.equal(restored.manifest.tensors['emb']!.slabs.length, 1);
      const reports = await stores[2]!.verify();
      assert.deepEqual(reports.map((r) => [r.step, r.ok]), [[10, true]]);
    });
  });

  withFixture('ranks: an error record aborts the attempt at once; every rank rejects; the previous checkpoint stays newest', async (fx) => {
    await saveRun(fx, 1, 2, 'job-1', 1);
    const content = globalContent(2, 2, 3);
    const results = await withRanks(fx, 3, 'job-2', {}, (stores) => saveAll(stores, 2, (r) => rankInput(content, r, 3)), (rank, s) => (rank === 2 ? failingWrites(s) : s));
    assertAllRejected(results.slice(0, 2), 'HF_ABORTED', 'an error record');
    assertAllRejected(results.slice(2), 'HF_IO', 'the failing rank');
    assert.match(String((results[0] as PromiseRejectedResult).reason), /rank 2 failed: injected: disk full/);
    assert.equal(await latestStep(fx), 1);
  });

  withFixture('ranks: only N-1 records: the leader aborts at its deadline, the others reject; the previous checkpoint stays newest', async (fx) => {
    await saveRun(fx, 1, 2, 'job-1', 1);
    const content = globalContent(3, 2, 3);
    const results = await withRanks(fx, 3, 'job-2', { deadlineMs: 300, commitMarginMs: 3_000 }, (stores) => Promise.allSettled(stores.slice(0, 2).map((s, r) => s.save(2, rankInput(content, r, 3)))));
    assertAllRejected(results, 'HF_ABORTED', 'a missing record');
    assert.match(String((results[0] as PromiseRejectedResult).reason), /no record from rank 2/);
    assert.equal(await latestStep(fx), 1);
  });

  withFixture('ranks: slabs that overlap, or a dtype that disagrees, are refused before the commit', async (fx) => {
    const t = (dtype: 'F32' | 'I32', n: number) => ({ dtype, shape: [n], data: dtype === 'F32' ? new Float32Array(n) : new Int32Array(n) });
    const overlap = await withRanks(fx, 2, 'job-overlap', {}, (stores) => saveAll(stores, 4, (r) => ({ slabs: { x: { globalShape: [4], offset: [r], tensor: t('F32', 2) } } })));
    assertAllRejected(overlap, 'HF_ABORTED', 'overlapping slabs');
    assert.match(String((overlap[0] as PromiseRejectedResult).reason), /do not tile/);
    const dtypes = await withRanks(fx, 2, 'job-dtype', {}, (stores) => saveAll(stores, 5, (r) => ({ slabs: { x: { globalShape: [4], offset: [2 * r], tensor: t(r === 0 ? 'F32' : 'I32', 2) } } })));
    assertAllRejected(dtypes, 'HF_ABORTED', 'dtypes that disagree');
    assert.equal(await latestStep(fx), undefined);
  });

  withFixture("ranks: two attempts on one step: exactly one commits, the other's ranks get HF_STEP_EXISTS (or fence themselves), nothing is mixed", async (fx) => {
    const [ca, cb] = [globalContent(11, 6, 2), globalContent(12, 6, 2)];
    // Both incarnations resumed from step 6 (so the lineage rule fences neither): this is about the commit alone.
    const race = (attempt: string, content: typeof ca) =>
      withRanks(fx, 2, attempt, {}, async (stores) => {
        await stores[0]!.startEpoch(6);
        return saveAll(stores, 6, (r) => rankInput(content, r, 2));
      });
    const [ra, rb] = await Promise.all([race('job-a', ca), race('job-b', cb)]);
    const aWon = ra.every((r) => r.status === 'fulfilled');
    const bWon = rb.every((r) => r.status === 'fulfilled');
    assert.ok(aWon !== bWon, 'exactly one attempt commits');
    // The loser finds the step taken, or (the older incarnation) sees the newer epoch and fences itself.
    for (const r of aWon ? rb : ra) assert.ok(r.status === 'rejected' && (isHoldfastError(r.reason, 'HF_STEP_EXISTS') || isHoldfastError(r.reason, 'HF_ABORTED')), String((r as PromiseRejectedResult).reason));
    await withRanks(fx, 1, 'reader', {}, async ([reader]) => {
      const restored = await reader!.restore(6);
      assertSameTensors(restored.tensors, (aWon ? ca : cb).tensors, 'the winner, whole');
    });
  });

  withFixture('ranks: a zombie leader of an older epoch committing past the newer epoch\'s resume point never becomes latest', async (fx) => {
    await saveRun(fx, 10, 2, 'job-1', 1); // epoch 1 (started fresh)
    // The zombie of epoch 1 checks for newer epochs, then stalls; the new incarnation records epoch 2,
    // resumed from step 10; the zombie's commit of step 20 lands afterwards.
    const zombie = globalContent(5, 20, 2);
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let zombieAtCommit!: () => void;
    const atCommit = new Promise<void>((resolve) => (zombieAtCommit = resolve));
    const onPhase = async (phase: string): Promise<void> => {
      if (phase !== 'manifest-ready') return;
      zombieAtCommit();
      await stalled;
    };
    const zombieRun = withRanks(fx, 2, 'job-1', { onPhase }, (stores) => saveAll(stores, 20, (r) => rankInput(zombie, r, 2)));
    await atCommit;
    await withRanks(fx, 2, 'job-2', {}, async (stores) => {
      const resumed = await stores[0]!.restore();
      assert.equal(resumed.step, 10);
      assert.equal(await stores[0]!.startEpoch(resumed.step), 2);
    });
    release();
    const results = await zombieRun;
    assert.equal(results[0]!.status, 'fulfilled', 'the zombie commits (its check came before the new epoch)');
    const io = new IoRuntime({ hashWorkers: 0 });
    const reader = await openStore({ storage: await fx.open() }, { fs: fx.sourceFs, runtime: io });
    try {
      assert.deepEqual((await reader.list()).map((c) => c.step), [10, 20]);
      const latest = await reader.latest();
      assert.equal(latest?.step, 10, 'the zombie commit is fenced out');
      assert.match(latest!.skipped[0]!.reason, /fenced by epoch 2/);
      await assert.rejects(reader.restore(20), (e: unknown) => isHoldfastError(e, 'HF_INCOMPATIBLE'));
      // A zombie that sees the newer epoch before its commit aborts instead.
      const late = await withRanks(fx, 2, 'job-1', {}, (stores) => saveAll(stores, 30, (r) => rankInput(globalContent(6, 30, 2), r, 2)));
      assertAllRejected(late, 'HF_ABORTED', 'a zombie that sees the newer epoch');
      assert.match(String((late[0] as PromiseRejectedResult).reason), /fenced/);
    } finally {
      await reader.close();
      await io.close();
    }
  });
}
