// The writer lease over the object twin's backend: what a takeover must guarantee.
import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import type { LeaseBackend } from '../../src/storage/checkpoint-storage.js';
import { MemoryObjectStorage } from '../../src/storage/memory-object-storage.js';
import { ObjectMap } from '../../src/storage/object-map.js';
import { acquireWriterLease, parseLease } from '../../src/storage/writer-lease.js';

/** A backend whose next `retire` (a renewal's write) stalls until released: its owner is paused mid-renewal. */
function stallingBackend(inner: LeaseBackend) {
  let armed = false;
  let entered!: () => void;
  const stalled = new Promise<void>((r) => (entered = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const backend: LeaseBackend = {
    ...inner,
    retire: async () => {
      if (armed) {
        armed = false;
        entered();
        await released;
      }
      return inner.retire();
    },
  };
  return { backend, arm: () => (armed = true), stalled, release };
}

test('a writer paused mid-renewal and taken over stays taken over: its late renewal must not overwrite the new holder', async (t) => {
  // The lease's renewal timer is unref'd: keep the event loop alive while A is paused.
  const keepAlive = setInterval(() => undefined, 10);
  t.after(() => clearInterval(keepAlive));
  const map = new ObjectMap();
  const a = stallingBackend(new MemoryObjectStorage(map).lease);
  const old = await acquireWriterLease(a.backend, 'save A', { ttlMs: 60 });
  a.arm();
  await a.stalled; // A's renewal has read its own record and is about to write it back: A is paused here.
  // B waits until A's record expires (no renewal lands), then takes over.
  const taker = await acquireWriterLease(new MemoryObjectStorage(map).lease, 'save B', { ttlMs: 60_000, waitMs: 10_000 });
  a.release(); // A wakes up and finishes its renewal (assertCurrent waits for it).
  const oldStillCurrent = await old.assertCurrent().then(
    () => true,
    (e: unknown) => (isHoldfastError(e, 'HF_BUSY') ? false : Promise.reject(e)),
  );
  const holder = parseLease((await new MemoryObjectStorage(map).lease.read())!);
  try {
    assert.equal(holder?.token, taker.record.token, `the record must still name the new holder (epoch ${taker.record.epoch}), names ${holder?.purpose} (epoch ${holder?.epoch})`);
    await taker.assertCurrent();
    assert.equal(oldStillCurrent, false, 'the taken-over writer must fail assertCurrent (else it could commit or delete)');
  } finally {
    await old.release();
    await taker.release();
  }
});
