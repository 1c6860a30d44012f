/**
 * The demo's last act (issue 3's demo): damage one byte of the newest
 * checkpoint, as a bad disk or a stray write would, and show that `latest`
 * notices, quarantines it and rolls back to the one before.
 */
import { posix as path } from 'node:path';
import type { FileSystem } from '../fs/file-system.js';
import { openStore } from '../store/open-store.js';

export async function showRollbackOnCorruption(fs: FileSystem, storeDir: string, out: (line: string) => void): Promise<boolean> {
  const store = await openStore(storeDir, { fs, create: false, onEvent: (e) => {
    if (e.type === 'quarantined') out(`  ✗ checkpoint ${e.step} failed verification: ${e.reason}`);
    if (e.type === 'quarantined') out(`    moved to ${path.relative(storeDir, e.movedTo)} (kept, never deleted)`);
    if (e.type === 'rolled-back') out(`  ↺ rolled back from ${e.fromStep} to ${e.toStep ?? 'nothing'}`);
  } });
  const list = await store.list();
  if (list.length < 2) return true;
  const newest = list.at(-1)!;
  const previous = list.at(-2)!;
  const manifest = await store.inspect(newest.step);
  const shard = manifest.files.find((f) => f.kind === 'shard') ?? manifest.files[0]!;
  const file = path.join(newest.path, shard.path);
  const offset = Math.floor(shard.size / 2);
  const fh = await fs.open(file, 'write');
  try {
    const byte = new Uint8Array(1);
    const reader = await fs.open(file, 'read');
    await reader.pread(byte, offset).finally(() => reader.close());
    byte[0] = byte[0]! ^ 0x10;
    await fh.pwrite(byte, offset);
  } finally {
    await fh.close();
  }
  out('');
  out(`Integrity: flipped one bit of ${path.relative(storeDir, file)} at byte ${offset}, then asked for the latest checkpoint.`);
  const latest = await store.latest();
  const ok = latest?.step === previous.step;
  out(`  latest → checkpoint ${latest?.step ?? 'none'} ${ok ? '(the newest one that verifies)' : `(EXPECTED ${previous.step})`}`);
  return ok;
}
