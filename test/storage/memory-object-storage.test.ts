// The object twin: the storage conformance suite (with a crash, a failure and a lost response at
// every call), then what is particular to an object store: the key layout, the exclusive manifest
// PUT and its read-back, quarantine without deleting, sweep, and the lease's compare-and-delete.
import assert from 'node:assert/strict';
import test from 'node:test';
import { HoldfastError, isHoldfastError } from '../../src/errors.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { checkpointDirName } from '../../src/format/names.js';
import { MemoryObjectStorage } from '../../src/storage/memory-object-storage.js';
import { ObjectMap, type InjectedObjectFault, type ObjectCall } from '../../src/storage/object-map.js';
import { openStore } from '../../src/store/open-store.js';
import { sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors, storageConformance, type StorageFixture } from './conformance.js';
import { IoRuntime } from '../../src/io/io-runtime.js';

const injected = (what: string) => new HoldfastError('HF_IO', `injected: ${what}`, { data: { injected: true } });

const FAULTS: Record<string, (call: ObjectCall) => InjectedObjectFault> = {
  'crash': (c) => ({ error: injected(`crash at ${c.index}`), crash: true }),
  'crash-after-applying': (c) => ({ error: injected(`crash after ${c.index} took effect`), crash: true, applied: true }),
  'fail-once': (c) => ({ error: injected(`failure of ${c.index}`) }),
  'lost-response': (c) => ({ error: injected(`lost response of ${c.index}`), applied: true }),
};

/** The key of file `name` of committed `step` (the manifest names its attempt's nonce). */
function keyOf(map: ObjectMap, step: number, name: string): string {
  const manifestKey = `${checkpointDirName(step)}/manifest.json`;
  if (name === 'manifest.json') return manifestKey;
  const nonce = (JSON.parse(new TextDecoder().decode(map.get(manifestKey)!.bytes)) as { nonce: string }).nonce;
  return `${checkpointDirName(step)}/${nonce}/${name}`;
}

function flipMiddleBit(map: ObjectMap, key: string): void {
  map.tamper(key, (b) => {
    b[Math.floor(b.byteLength / 2)]! ^= 1;
    return b;
  });
}

storageConformance('MemoryObjectStorage', async (): Promise<StorageFixture> => {
  const map = new ObjectMap();
  const sourceFs = new MemoryFileSystem();
  await sourceFs.mkdir('/scratch');
  return {
    open: () => Promise.resolve(new MemoryObjectStorage(map)),
    corrupt: (step, name) => Promise.resolve(flipMiddleBit(map, keyOf(map, step, name))),
    sourceFs,
    scratch: '/scratch',
    crashModes: Object.keys(FAULTS),
    crashing: (index, mode) => {
      const storage = new MemoryObjectStorage(map, { faults: { failAt: (c) => (c.index === index ? FAULTS[mode]!(c) : undefined) } });
      return Promise.resolve({ storage, calls: () => storage.client.calls.length });
    },
    cleanup: () => Promise.resolve(),
  };
});

const NONCE = '[0-9a-f]{32}';

test('key layout: the attempt under ckpt-<step>/<nonce>/, the manifest at ckpt-<step>/manifest.json, audit objects, the lease record', async () => {
  const map = new ObjectMap();
  const storage = new MemoryObjectStorage(map, { prefix: 'runs/a/' });
  assert.deepEqual(storage.capabilities, { atomicRename: false, exclusiveCreate: true, dirSync: false, rangedRead: true });
  const store = await openStore({ storage });
  const saved = await store.save(12, { tensors: sampleTensors(1), state: 12 });
  assert.equal(saved.path, 'memory://bucket/runs/a/ckpt-000000000012/');
  const keys = map.keys().map((k) => k.replace(new RegExp(NONCE, 'g'), '<nonce>').replace(/audit\/\d{8}T\d{9}Z-/, 'audit/<time>-'));
  assert.deepEqual(keys, [
    'runs/a/audit/<time>-<nonce>.json',
    'runs/a/ckpt-000000000012/<nonce>/SHA256SUMS',
    'runs/a/ckpt-000000000012/<nonce>/r0000-p000.safetensors',
    'runs/a/ckpt-000000000012/manifest.json',
    'runs/a/lease/record',
  ]);
  // Another store under another prefix of the same bucket sees nothing of it.
  assert.deepEqual(await new MemoryObjectStorage(map, { prefix: 'runs/b/' }).list(), []);
});

test('the commit is the last call and the only conditional PUT; the data goes first', async () => {
  const storage = new MemoryObjectStorage(new ObjectMap());
  const store = await openStore({ storage });
  await store.save(1, { tensors: sampleTensors(1) });
  const calls = storage.client.calls.filter((c) => !c.key.includes('lease/') && !c.key.includes('audit/'));
  const puts = calls.filter((c) => c.op === 'put' || c.op === 'putIfAbsent');
  assert.deepEqual(puts.map((c) => c.op), ['put', 'put', 'putIfAbsent']);
  assert.match(puts[2]!.key, /^ckpt-000000000001\/manifest\.json$/);
  assert.equal(calls.at(-1), puts[2], 'nothing after the manifest PUT but lease and audit');
});

test('a manifest PUT whose response is lost but which landed is settled by reading it back: the save is committed', async () => {
  const map = new ObjectMap();
  const lostManifestPut = { failAt: (c: ObjectCall) => (c.op === 'putIfAbsent' && c.key.endsWith('manifest.json') ? { error: injected('timeout'), applied: true } : undefined) };
  const store = await openStore({ storage: new MemoryObjectStorage(map, { faults: lostManifestPut }) });
  await store.save(1, { tensors: sampleTensors(1), state: 'ours' });
  const restored = await (await openStore({ storage: new MemoryObjectStorage(map) })).restore(1);
  assert.equal(restored.state, 'ours');
  assertSameTensors(restored.tensors, sampleTensors(1), 'committed through a lost response');
});

test('a failed manifest PUT while another writer committed the step: HF_STEP_EXISTS, and the other checkpoint is untouched', async () => {
  const map = new ObjectMap();
  const other = await openStore({ storage: new MemoryObjectStorage(map) });
  // Our manifest PUT fails without landing (connection reset) after another process committed step 1.
  const faults = { failAt: (c: ObjectCall) => (c.op === 'putIfAbsent' && c.key.endsWith('manifest.json') ? injected('connection reset') : undefined) };
  const storage = new MemoryObjectStorage(map, { faults });
  const writer = await storage.begin(1, { nonce: 'a'.repeat(32), durability: 'atomic_dirsync' });
  await other.save(1, { tensors: sampleTensors(9), state: 'other' });
  await assert.rejects(writer.commit(new TextEncoder().encode('{"nonce":"' + 'a'.repeat(32) + '"}'), new Uint8Array(0)), (e) => isHoldfastError(e, 'HF_STEP_EXISTS'));
  await writer.abandon();
  assert.equal((await other.restore(1)).state, 'other');
  assert.deepEqual(map.keys().filter((k) => k.includes('a'.repeat(32))), [], 'the loser removed its own objects');
});

test('a manifest PUT of unknown outcome that cannot be read back: the save fails and abandon un-commits it, leaving nothing', async () => {
  const map = new ObjectMap();
  let readBacks = 0;
  const faults = {
    failAt: (c: ObjectCall) => {
      if (c.op === 'putIfAbsent' && c.key.endsWith('manifest.json')) return { error: injected('timeout'), applied: true };
      if (c.op === 'get' && c.key.endsWith('manifest.json') && readBacks++ === 0) return injected('read-back failed too');
      return undefined;
    },
  };
  const store = await openStore({ storage: new MemoryObjectStorage(map, { faults }) });
  await assert.rejects(store.save(1, { tensors: sampleTensors(1) }), /timeout/);
  assert.deepEqual(map.keys().filter((k) => k.startsWith('ckpt-')), [], 'un-committed first, then its objects deleted');
});

test('quarantine copies the manifest and un-commits it; the attempt\'s objects stay, and gc never sweeps them', async () => {
  const map = new ObjectMap();
  const store = await openStore({ storage: new MemoryObjectStorage(map) });
  await store.save(1, { tensors: sampleTensors(1) });
  await store.save(2, { tensors: sampleTensors(2) });
  const manifest = map.get(keyOf(map, 2, 'manifest.json'))!.bytes;
  const shardKey = keyOf(map, 2, 'r0000-p000.safetensors');
  flipMiddleBit(map, shardKey);
  const latest = await store.latest();
  assert.equal(latest?.step, 1);
  const quarantined = map.keys().filter((k) => k.startsWith('quarantine/'));
  assert.equal(quarantined.length, 2);
  assert.match(quarantined[0]!, /^quarantine\/ckpt-000000000002-\d{8}T\d{9}Z-[0-9a-f]{8}\/manifest\.json$/);
  assert.ok(Buffer.from(map.get(quarantined[0]!)!.bytes).equals(Buffer.from(manifest)), 'a byte copy of the manifest');
  const record = JSON.parse(new TextDecoder().decode(map.get(quarantined[1]!)!.bytes)) as { attempts: string[]; step: number };
  assert.equal(record.step, 2);
  assert.deepEqual(record.attempts, [shardKey.slice(0, shardKey.lastIndexOf('/') + 1)]);
  assert.equal(map.head(keyOf(map, 1, 'manifest.json')) !== undefined, true);
  const gc = await store.gc({ keepLast: 5, stagingGraceMs: 0 });
  assert.deepEqual(gc.removedStaging, []);
  assert.ok(map.head(shardKey) !== undefined, 'quarantine never deletes a byte, and neither does gc');
});

test('sweep: an abandoned attempt goes once its newest object is older than the grace period, never before', async () => {
  let now = 1_000_000;
  const map = new ObjectMap(() => now);
  const storage = new MemoryObjectStorage(map);
  const store = await openStore({ storage });
  await store.save(1, { tensors: sampleTensors(1) });
  const writer = await storage.begin(2, { nonce: 'b'.repeat(32), durability: 'atomic_dirsync' });
  const runtime = new IoRuntime({ hashWorkers: 0 });
  await writer.writeFile('r0000-p000.safetensors', [Uint8Array.of(1, 2, 3)], { runtime });
  now += 500;
  await writer.writeFile('r0000-p001.safetensors', [Uint8Array.of(4)], { runtime });
  now += 600; // the first object is 1100 ms old, the newest 600 ms
  assert.deepEqual((await store.gc({ keepLast: 5, stagingGraceMs: 1000 })).removedStaging, []);
  now += 400;
  assert.deepEqual((await store.gc({ keepLast: 5, stagingGraceMs: 1000 })).removedStaging, [`memory://bucket/ckpt-000000000002/${'b'.repeat(32)}/`]);
  assert.deepEqual(map.keys().filter((k) => k.includes('b'.repeat(32))), []);
  assertSameTensors((await store.restore()).tensors, sampleTensors(1), 'the committed checkpoint is untouched');
});

test('lease retire is a compare-and-delete: of two processes retiring one record, exactly one gets it', async () => {
  const map = new ObjectMap();
  const [a, b] = [new MemoryObjectStorage(map), new MemoryObjectStorage(map)];
  assert.equal(await a.lease.createExclusive(Uint8Array.of(1)), true);
  assert.equal(await b.lease.createExclusive(Uint8Array.of(2)), false);
  const got = await Promise.all([a.lease.retire(), b.lease.retire()]);
  assert.deepEqual(got.map((g) => (g === undefined ? 'none' : [...g].join())), got[0] === undefined ? ['none', '1'] : ['1', 'none']);
  assert.equal(await a.lease.read(), undefined);
  // A record replaced between the GET and the DELETE is not retired: the DELETE is conditional on the version read.
  await a.lease.createExclusive(Uint8Array.of(3));
  const read = map.get('lease/record')!;
  map.put('lease/record', Uint8Array.of(4)); // another process replaced it meanwhile
  assert.equal(map.delete('lease/record', read.info.version), false);
  assert.deepEqual([...(await b.lease.read())!], [4]);
});

test('a crash at every call of a gc that removes checkpoints: every checkpoint still listed verifies, and the newest restores', async () => {
  const run = async (index: number, mode: string): Promise<number> => {
    const map = new ObjectMap();
    const store = await openStore({ storage: new MemoryObjectStorage(map) });
    for (const step of [1, 2, 3]) await store.save(step, { tensors: sampleTensors(step), state: step });
    const storage = new MemoryObjectStorage(map, { faults: { failAt: (c) => (c.index === index ? FAULTS[mode]!(c) : undefined) } });
    await (await openStore({ storage })).gc({ keepLast: 1, stagingGraceMs: 0 }).catch(() => undefined);
    const fresh = await openStore({ storage: new MemoryObjectStorage(map) });
    const what = `${mode} at ${index}`;
    assert.deepEqual((await fresh.verify()).filter((r) => !r.ok).map((r) => r.problems[0]!.message), [], `${what}: a listed checkpoint fails verification`);
    assert.equal((await fresh.restore()).step, 3, what);
    await fresh.gc({ keepLast: 1, stagingGraceMs: 0 });
    assert.deepEqual(map.keys().filter((k) => k.startsWith('ckpt-') && !k.startsWith('ckpt-000000000003/')), [], `${what}: a second gc leaves nothing of the removed steps`);
    return storage.client.calls.length;
  };
  for (const mode of Object.keys(FAULTS)) {
    const total = await run(Infinity, mode);
    for (let i = 0; i < total; i++) await run(i, mode);
  }
});
