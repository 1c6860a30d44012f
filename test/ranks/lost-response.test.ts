// A lost response after a successful manifest PUT (scale-out note §8 case 5), in process over the
// object twin: its fault hook lets the PUT land and then fails the call, as a timeout after the
// server applied it would. The real-server version needs a fault proxy (not used here).
import assert from 'node:assert/strict';
import test from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import { MemoryObjectStorage } from '../../src/storage/memory-object-storage.js';
import { ObjectMap } from '../../src/storage/object-map.js';
import { openStore } from '../../src/store/open-store.js';
import { globalContent, rankInput } from '../../src/torture/ranks-content.js';
import { assertSameTensors } from '../storage/conformance.js';

async function run(lose: 'manifest' | 'rank-record'): Promise<void> {
  const map = new ObjectMap();
  const io = new IoRuntime({ hashWorkers: 0 });
  let lost = 0;
  const faults = {
    failAt: (c: { op: string; key: string }) => {
      const hit = lose === 'manifest' ? c.op === 'putIfAbsent' && c.key.endsWith('/manifest.json') : c.op === 'putIfAbsent' && c.key.endsWith('/records/rank-0001');
      if (!hit || lost > 0) return undefined;
      lost += 1;
      return { error: new HoldfastError('HF_IO', 'injected: response lost after the PUT landed'), applied: true };
    },
  };
  const content = globalContent(3, 4, 2);
  const stores = [
    await openStore({ storage: new MemoryObjectStorage(map, lose === 'manifest' ? { faults } : {}) }, { runtime: io, rank: 0, worldSize: 2, attempt: 'job', deadlineMs: 10_000 }),
    await openStore({ storage: new MemoryObjectStorage(map, lose === 'rank-record' ? { faults } : {}) }, { runtime: io, rank: 1, worldSize: 2, attempt: 'job', deadlineMs: 10_000 }),
  ];
  try {
    const results = await Promise.all(stores.map((s, rank) => s.save(4, rankInput(content, rank, 2))));
    assert.equal(lost, 1, 'the fault fired');
    assert.deepEqual(results.map((r) => r.step), [4, 4]);
    const restored = await stores[1]!.restore();
    assertSameTensors(restored.tensors, content.tensors, 'after a lost response');
  } finally {
    for (const s of stores) await s.close();
    await io.close();
  }
}

test('a lost response after the manifest PUT landed: the leader reads it back, our bytes, committed; every rank resolves', () => run('manifest'));
test('a lost response after a rank record PUT landed: the rank reads it back and counts it as written', () => run('rank-record'));
