// One writer at a time: the lease is exclusive, names its holder, is taken over only when expired or
// its owner is dead, and fences a paused owner out of committing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { openLocalStorage } from '../../src/storage/local-storage.js';
import { acquireWriterLease, parseLease } from '../../src/storage/writer-lease.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';

async function memoryStorage() {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/data');
  return openLocalStorage(fs, '/data/store', { durability: 'atomic_dirsync', create: true });
}

test('a second writer is refused with a message naming the holder, and gets the lease once it is released', async () => {
  const storage = await memoryStorage();
  const first = await acquireWriterLease(storage.lease, 'save 7');
  await assert.rejects(acquireWriterLease(storage.lease, 'gc', { ifHeld: 'refuse' }), (e: unknown) => {
    return isHoldfastError(e, 'HF_BUSY') && new RegExp(`save 7 by pid ${process.pid} on .* \\(lease epoch 1`).test(e.message);
  });
  const waiting = acquireWriterLease(storage.lease, 'gc', { ifHeld: 'wait' });
  await first.release();
  const second = await waiting;
  assert.equal(second.record.epoch, 2);
  assert.equal(second.tookOver, false, 'a released lease is taken, not taken over');
  await second.assertCurrent();
  await second.release();
});

test('an expired lease is taken over, and its paused owner can no longer commit or delete (fenced)', async () => {
  const storage = await memoryStorage();
  const paused = await acquireWriterLease(storage.lease, 'save 1', { ttlMs: 30_000 });
  // A SIGSTOPped owner stops renewing: its record ages past the time to live. (The in-memory file
  // system resolves without yielding to timers, so the owner's renewal cannot slip in between.)
  const record = parseLease((await storage.lease.read())!)!;
  await storage.lease.retire();
  await storage.lease.createExclusive(new TextEncoder().encode(JSON.stringify({ ...record, renewedAt: Date.now() - 60_000 }) + '\n'));
  const taker = await acquireWriterLease(storage.lease, 'gc', { ifHeld: 'refuse', ttlMs: 60_000 });
  assert.equal(taker.record.epoch, 2);
  await assert.rejects(paused.assertCurrent(), (e: unknown) => isHoldfastError(e, 'HF_BUSY') && /was taken over: gc by pid/.test(e.message));
  await paused.release(); // never throws, never disturbs the new holder
  await taker.assertCurrent();
  await taker.release();
});

test('a lease whose owner was SIGKILLed on this host is taken over at once', async (t) => {
  const root = join(tempDir(t), 'store');
  await openStore(root);
  const lib = new URL('../../src/storage/', import.meta.url).href;
  const script = `
    const { openLocalStorage } = await import('${lib}local-storage.js');
    const { acquireWriterLease } = await import('${lib}writer-lease.js');
    const { PosixFileSystem } = await import('${new URL('../../src/fs/posix-file-system.js', import.meta.url).href}');
    const storage = await openLocalStorage(new PosixFileSystem(), process.argv[1], { durability: 'atomic_dirsync', create: false });
    await acquireWriterLease(storage.lease, 'save 99');
    process.stdout.write('held');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const storage = await openLocalStorage(new PosixFileSystem(), root, { durability: 'atomic_dirsync', create: false });
  await assert.rejects(acquireWriterLease(storage.lease, 'gc', { ifHeld: 'refuse' }), (e: unknown) => isHoldfastError(e, 'HF_BUSY') && /save 99/.test(e.message));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const lease = await acquireWriterLease(storage.lease, 'gc', { ifHeld: 'refuse' });
  assert.equal(lease.record.epoch, 2);
  assert.equal(lease.tookOver, true);
  await lease.release();
});

test('gc while a save holds the lease waits for it instead of sweeping its staging directory', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/data');
  const store = await openStore('/data/store', { fs });
  await store.save(1, { state: { n: 1 } });
  const storage = (store as unknown as { storage: Awaited<ReturnType<typeof memoryStorage>> }).storage;
  const held = await acquireWriterLease(storage.lease, 'save 2');
  const refused = openStore('/data/store', { fs, lease: { ifHeld: 'refuse' } }).then((s) => s.gc({ keepLast: 1, stagingGraceMs: 0 }));
  await assert.rejects(refused, (e: unknown) => isHoldfastError(e, 'HF_BUSY') && /save 2/.test(e.message));
  const waiting = store.gc({ keepLast: 1, stagingGraceMs: 0 });
  await held.release();
  assert.deepEqual((await waiting).removedSteps, []);
});
