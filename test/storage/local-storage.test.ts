// The storage conformance suite over `LocalStorage`: on memory (with a crash or a failure at every
// call, through FaultyFileSystem) and on a real temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultyFileSystem } from '../../src/fs/faulty-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { readWholeFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { checkpointDirName } from '../../src/format/names.js';
import { openLocalStorage } from '../../src/storage/local-storage.js';
import { storageConformance, type StorageFixture } from './conformance.js';

/** Flips one bit in the middle of the file: every byte of a checkpoint is covered by some check. */
async function flipMiddleBit(fs: FileSystem, p: string): Promise<void> {
  const bytes = await readWholeFile(fs, p);
  const at = Math.floor(bytes.byteLength / 2);
  const fh = await fs.open(p, 'write');
  try {
    await fh.pwrite(Uint8Array.of(bytes[at]! ^ 1), at);
  } finally {
    await fh.close();
  }
}

function localFixture(fs: FileSystem, base: string, cleanup: () => Promise<void>): StorageFixture {
  const root = `${base}/store`;
  const open = () => openLocalStorage(fs, root, { durability: 'atomic_dirsync', create: true });
  return {
    open,
    corrupt: (step, name) => flipMiddleBit(fs, `${root}/${checkpointDirName(step)}/${name}`),
    sourceFs: fs,
    scratch: base,
    cleanup,
  };
}

storageConformance('LocalStorage over MemoryFileSystem', async () => {
  const memory = new MemoryFileSystem();
  await memory.mkdir('/data');
  const fx = localFixture(memory, '/data', () => Promise.resolve());
  return {
    ...fx,
    crashModes: ['crash', 'fail-once'],
    // A crash: the call fails and so does every later one (the process is gone); fail-once: only that call.
    crashing: async (index, mode) => {
      const faulty = new FaultyFileSystem(memory);
      const storage = await openLocalStorage(faulty, '/data/store', { durability: 'atomic_dirsync', create: false });
      const base = faulty.callCount;
      if (Number.isFinite(index)) faulty.addRule({ on: 'any', nth: index, persistent: mode === 'crash', fault: { type: 'error', errno: 'EIO' } });
      return { storage, calls: () => faulty.callCount - base };
    },
  };
});

storageConformance('LocalStorage on a real temporary directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-storage-'));
  return localFixture(new PosixFileSystem(), dir, () => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
});
