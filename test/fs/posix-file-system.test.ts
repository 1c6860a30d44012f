import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { fileSystemConformance } from './conformance.js';

// node:fs here only for what the FileSystem cannot make or observe: temp dirs, FIFOs and their readers, modes.
async function mkfifo(path: string): Promise<void> {
  execFileSync('mkfifo', ['-m', '600', path]);
}

fileSystemConformance('posix', async () => {
  const root = await mkdtemp(join(tmpdir(), 'holdfast-fs-'));
  return { fs: new PosixFileSystem(), root, cleanup: () => rm(root, { recursive: true, force: true }), makeFifo: mkfifo };
});

describe('PosixFileSystem special files', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'holdfast-fifo-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  // A FIFO in place of holdfast.json or audit.log used to hang every command in open(2).
  it('opening a FIFO for writing fails at once, with or without a reader, saying it is a FIFO', { timeout: 10_000 }, async () => {
    const fs = new PosixFileSystem();
    const p = join(root, 'audit.log');
    await mkfifo(p);
    await assert.rejects(fs.open(p, 'write'), { code: 'HF_IO', path: p, message: `open ${p}: is a FIFO, expected a regular file` });
    const reader = await open(p, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await assert.rejects(fs.open(p, 'write'), { code: 'HF_IO', path: p, message: `open ${p}: is a FIFO, expected a regular file` });
    } finally {
      await reader.close();
    }
  });

  it('reading a FIFO in place of holdfast.json fails at once instead of waiting for a writer', { timeout: 10_000 }, async () => {
    const fs = new PosixFileSystem();
    const p = join(root, 'holdfast.json');
    await mkfifo(p);
    await assert.rejects(readWholeFile(fs, p), { code: 'HF_IO', message: `open ${p}: is a FIFO, expected a regular file` });
  });

  it('describes a special file by its kind: /dev/null is a character device', async () => {
    await assert.rejects(new PosixFileSystem().open('/dev/null', 'read'), { code: 'HF_IO', message: 'open /dev/null: is a character device, expected a regular file' });
  });
});

describe('PosixFileSystem modes', () => {
  let root: string;
  let umask: number;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'holdfast-mode-'));
    // The strictest common umask: a configured group mode must survive it.
    umask = process.umask(0o077);
  });
  after(async () => {
    process.umask(umask);
    await rm(root, { recursive: true, force: true });
  });

  const modeOf = async (p: string): Promise<number> => (await lstat(p)).mode & 0o7777;

  it('creates files 0600 and directories 0700 by default', async () => {
    const fs = new PosixFileSystem();
    await fs.mkdir(join(root, 'private'));
    await writeNewFile(fs, join(root, 'private', 'f'), new Uint8Array([1]), { sync: false });
    assert.equal(await modeOf(join(root, 'private')), 0o700);
    assert.equal(await modeOf(join(root, 'private', 'f')), 0o600);
  });

  it('a group-shared store gets exactly the configured modes, whatever the umask', async () => {
    const fs = new PosixFileSystem({ fileMode: 0o640, dirMode: 0o750 });
    await fs.mkdir(join(root, 'shared'));
    await writeNewFile(fs, join(root, 'shared', 'f'), new Uint8Array([1]), { sync: false });
    assert.equal(await modeOf(join(root, 'shared')), 0o750);
    assert.equal(await modeOf(join(root, 'shared', 'f')), 0o640);
  });

  it('refuses modes that lock the owner out, let anyone write, or are not permission bits', () => {
    for (const options of [{ fileMode: 0o440 }, { dirMode: 0o650 }, { fileMode: 0o666 }, { dirMode: 0o777 }, { fileMode: 0o4600 }, { fileMode: 1.5 }, { dirMode: -1 }]) {
      assert.throws(() => new PosixFileSystem(options), { code: 'HF_INVALID_ARG' }, JSON.stringify(options));
    }
  });
});
