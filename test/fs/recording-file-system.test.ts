import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FaultyFileSystem } from '../../src/fs/faulty-file-system.js';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { describeOp, type Op } from '../../src/fs/op-log.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { RecordingFileSystem } from '../../src/fs/recording-file-system.js';
import { fileSystemConformance, rejectsWith } from './conformance.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const summary = (log: readonly Op[]): string[] => log.map(describeOp);

fileSystemConformance('recording(memory)', async () => {
  const fs = new RecordingFileSystem(new MemoryFileSystem());
  await fs.mkdir('/work');
  return { fs, root: '/work', cleanup: async () => {} };
});

fileSystemConformance('recording(posix)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'holdfast-rec-'));
  return {
    fs: new RecordingFileSystem(new PosixFileSystem()),
    root,
    cleanup: () => rm(root, { recursive: true, force: true }),
    makeFifo: async (p: string) => void execFileSync('mkfifo', ['-m', '600', p]),
  };
});

describe('RecordingFileSystem', () => {
  it('logs every mutating call in order, with an index, and no reads', async () => {
    const fs = new RecordingFileSystem(new MemoryFileSystem());
    await fs.mkdir('/s');
    const fh = await fs.open('/s/f', 'create');
    await fh.pwrite(text('abc'), 0);
    await fh.truncate(2);
    await fh.datasync();
    await fh.sync();
    await fh.stat();
    await fh.close();
    await readWholeFile(fs, '/s/f');
    await fs.readdir('/s');
    await fs.stat('/s/f');
    await fs.syncDir('/s');
    await fs.rename('/s/f', '/s/g');
    await fs.unlink('/s/g');
    await fs.rmdir('/s');
    assert.deepEqual(summary(fs.log), [
      '#0 mkdir /s',
      '#1 create /s/f',
      '#2 pwrite /s/f @0+3',
      '#3 truncate /s/f to 2',
      '#4 fdatasync /s/f',
      '#5 fsync /s/f',
      '#6 syncDir /s',
      '#7 rename /s/f -> /s/g',
      '#8 unlink /s/g',
      '#9 rmdir /s',
    ]);
    assert.deepEqual(fs.log.map((op) => op.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(fs.name, 'recording(memory)');
  });

  it('keeps a private copy of written bytes', async () => {
    const fs = new RecordingFileSystem(new MemoryFileSystem());
    const buf = text('hello');
    await writeNewFile(fs, '/f', buf, { sync: false });
    buf.fill(0);
    const op = fs.log[1]!;
    assert.equal(op.kind, 'pwrite');
    assert.equal(new TextDecoder().decode(op.kind === 'pwrite' ? op.data : undefined), 'hello');
  });

  it('records only after start(), yet handles opened before keep their paths', async () => {
    const fs = new RecordingFileSystem(new MemoryFileSystem(), { recording: false });
    await fs.mkdir('/a');
    const fh = await fs.open('/a/f', 'create');
    await fs.rename('/a', '/b');
    assert.equal(fs.log.length, 0);
    fs.start();
    await fh.pwrite(text('x'), 0);
    await fh.sync();
    fs.stop();
    await fh.close();
    await fs.mkdir('/c');
    assert.deepEqual(summary(fs.log), ['#0 pwrite /b/f @0+1', '#1 fsync /b/f']);
  });

  it('follows renames of the file and its directories; marks writes to unlinked or replaced files orphaned', async () => {
    const fs = new RecordingFileSystem(new MemoryFileSystem());
    await fs.mkdir('/d');
    const f = await fs.open('/d/f', 'create');
    const g = await fs.open('/d/g', 'create');
    await fs.rename('/d/f', '/d/h');
    await fs.rename('/d', '/e');
    await f.pwrite(text('1'), 0);
    await fs.rename('/e/h', '/e/g'); // replaces g: g's handle now writes to a nameless inode
    await g.pwrite(text('2'), 0);
    await f.sync();
    await fs.unlink('/e/g');
    await f.pwrite(text('3'), 0);
    const writes = fs.log.filter((op) => op.kind === 'pwrite' || op.kind === 'fsync');
    assert.deepEqual(
      writes.map((op) => [op.kind, 'path' in op ? op.path : '', 'orphaned' in op ? op.orphaned === true : false]),
      [
        ['pwrite', '/e/h', false],
        ['pwrite', '/e/g', true],
        ['fsync', '/e/g', false],
        ['pwrite', '/e/g', true],
      ],
    );
  });

  it('logs failed calls with their errno and rethrows', async () => {
    const fs = new RecordingFileSystem(new MemoryFileSystem());
    await fs.mkdir('/d');
    await rejectsWith(fs.mkdir('/d'), 'HF_IO', 'EEXIST');
    await rejectsWith(fs.open('/nope/f', 'create'), 'HF_NOT_FOUND', 'ENOENT');
    assert.deepEqual(summary(fs.log), ['#0 mkdir /d', '#1 mkdir /d (failed EEXIST)', '#2 create /nope/f (failed ENOENT)']);
  });

  it('notes when each sync was issued, so a sync covers only what completed before it', async () => {
    const fs = new RecordingFileSystem(new MemoryFileSystem());
    const fh = await fs.open('/f', 'create');
    await Promise.all([fh.sync(), fh.pwrite(text('x'), 0)]);
    const sync = fs.log.find((op) => op.kind === 'fsync');
    assert.ok(sync !== undefined && sync.kind === 'fsync');
    assert.equal(sync.issuedAt, 1);
  });

  it('over a faulty file system, a short write logs exactly the prefix that landed', async () => {
    const faulty = new FaultyFileSystem(new MemoryFileSystem());
    const fs = new RecordingFileSystem(faulty);
    faulty.addRule({ on: 'pwrite', fault: { type: 'error', errno: 'ENOSPC', writtenBytes: 3 } });
    const fh = await fs.open('/f', 'create');
    await rejectsWith(fh.pwrite(text('abcdef'), 0), 'HF_IO', 'ENOSPC');
    const op = fs.log[1]!;
    assert.equal(describeOp(op), '#1 pwrite /f @0+3 (failed ENOSPC)');
  });
});
