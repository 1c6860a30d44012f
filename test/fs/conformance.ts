/**
 * The behaviours every `FileSystem` must share (unstorage's `testDriver`):
 * run against the real disk, memory, and each wrapper, so a test passing on
 * memory means the same code passes on disk.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';

export interface FsFixture {
  fs: FileSystem;
  /** An existing, empty directory to work in. */
  root: string;
  cleanup: () => Promise<void>;
  /** Plants a FIFO (or, where only that is modelled, some special file) at `path`; absent if the fs cannot. */
  makeFifo?: (path: string) => Promise<void>;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Asserts that `promise` rejects with a HoldfastError of `code` whose errno is one of `errnos`. */
export async function rejectsWith(promise: Promise<unknown>, code: 'HF_IO' | 'HF_NOT_FOUND', ...errnos: string[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isHoldfastError(e), `expected HoldfastError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(errnos.includes(e.data['errno'] as string), `errno ${String(e.data['errno'])} not in ${errnos.join('|')}: ${e.message}`);
    return true;
  });
}

export function fileSystemConformance(name: string, makeFs: () => Promise<FsFixture>): void {
  describe(`FileSystem conformance: ${name}`, () => {
    const withFs = (title: string, body: (fs: FileSystem, root: string) => Promise<void>): void => {
      it(title, async () => {
        const { fs, root, cleanup } = await makeFs();
        try {
          await body(fs, root);
        } finally {
          await cleanup();
        }
      });
    };

    withFs('create makes an empty file and refuses an existing name (EEXIST)', async (fs, root) => {
      const fh = await fs.open(`${root}/a`, 'create');
      assert.deepEqual(await fh.stat().then((s) => [s.type, s.sizeBytes]), ['file', 0]);
      await fh.close();
      await rejectsWith(fs.open(`${root}/a`, 'create'), 'HF_IO', 'EEXIST');
      await fs.mkdir(`${root}/d`);
      await rejectsWith(fs.open(`${root}/d`, 'create'), 'HF_IO', 'EEXIST');
    });

    withFs('pwrite/pread round trip; a gap reads as zeros; pread stops at EOF', async (fs, root) => {
      const fh = await fs.open(`${root}/f`, 'create');
      await fh.pwrite(text('hello'), 0);
      await fh.pwrite(text('world'), 10);
      await fh.close();
      const bytes = await readWholeFile(fs, `${root}/f`);
      assert.deepEqual([...bytes], [...text('hello'), 0, 0, 0, 0, 0, ...text('world')]);
      const rh = await fs.open(`${root}/f`, 'read');
      const buf = new Uint8Array(8);
      assert.equal(await rh.pread(buf, 12), 3);
      assert.equal(new TextDecoder().decode(buf.subarray(0, 3)), 'rld');
      assert.equal(await rh.pread(buf, 100), 0);
      assert.equal(await rh.pread(buf, 0, 4), 4);
      await rh.close();
    });

    withFs('write mode overwrites in place; needs an existing file', async (fs, root) => {
      await writeNewFile(fs, `${root}/f`, text('aaaaaa'), { sync: true });
      const fh = await fs.open(`${root}/f`, 'write');
      await fh.pwrite(text('BB'), 2);
      await fh.datasync();
      await fh.close();
      assert.equal(new TextDecoder().decode(await readWholeFile(fs, `${root}/f`)), 'aaBBaa');
      await rejectsWith(fs.open(`${root}/missing`, 'write'), 'HF_NOT_FOUND', 'ENOENT');
    });

    withFs('truncate shrinks, and extending again reads zeros', async (fs, root) => {
      const fh = await fs.open(`${root}/f`, 'create');
      await fh.pwrite(text('abcdefgh'), 0);
      await fh.truncate(3);
      assert.equal((await fh.stat()).sizeBytes, 3);
      await fh.truncate(6);
      await fh.sync();
      await fh.close();
      assert.deepEqual([...(await readWholeFile(fs, `${root}/f`))], [...text('abc'), 0, 0, 0]);
    });

    withFs('readdir lists names sorted, without . and ..', async (fs, root) => {
      for (const n of ['b', 'a', 'C', 'a.b']) await writeNewFile(fs, `${root}/${n}`, text(n), { sync: false });
      await fs.mkdir(`${root}/dir`);
      assert.deepEqual(await fs.readdir(root), ['C', 'a', 'a.b', 'b', 'dir']);
      assert.deepEqual(await fs.readdir(`${root}/dir`), []);
      await rejectsWith(fs.readdir(`${root}/a`), 'HF_IO', 'ENOTDIR');
    });

    withFs('stat reports types and sizes (lstat)', async (fs, root) => {
      await writeNewFile(fs, `${root}/f`, new Uint8Array(5000), { sync: false });
      await fs.mkdir(`${root}/d`);
      const f = await fs.stat(`${root}/f`);
      assert.equal(f.type, 'file');
      assert.equal(f.sizeBytes, 5000);
      assert.ok(Number.isFinite(f.mtimeMs));
      assert.equal((await fs.stat(`${root}/d`)).type, 'directory');
    });

    withFs('rename moves a file and replaces an existing file', async (fs, root) => {
      await writeNewFile(fs, `${root}/a`, text('A'), { sync: false });
      await writeNewFile(fs, `${root}/b`, text('B'), { sync: false });
      await fs.rename(`${root}/a`, `${root}/c`);
      assert.deepEqual(await fs.readdir(root), ['b', 'c']);
      await fs.rename(`${root}/c`, `${root}/b`);
      assert.deepEqual(await fs.readdir(root), ['b']);
      assert.equal(new TextDecoder().decode(await readWholeFile(fs, `${root}/b`)), 'A');
      await fs.rename(`${root}/b`, `${root}/b`);
      assert.deepEqual(await fs.readdir(root), ['b']);
    });

    withFs('rename moves a directory with its contents; onto an empty dir replaces it', async (fs, root) => {
      await fs.mkdir(`${root}/s`);
      await writeNewFile(fs, `${root}/s/f`, text('x'), { sync: false });
      await fs.mkdir(`${root}/empty`);
      await fs.rename(`${root}/s`, `${root}/t`);
      assert.deepEqual(await fs.readdir(`${root}/t`), ['f']);
      await fs.rename(`${root}/t`, `${root}/empty`);
      assert.deepEqual(await fs.readdir(root), ['empty']);
      assert.deepEqual(await fs.readdir(`${root}/empty`), ['f']);
    });

    withFs('rename refuses: dir onto non-empty dir, file onto dir, dir onto file, dir into itself, missing source', async (fs, root) => {
      await fs.mkdir(`${root}/a`);
      await fs.mkdir(`${root}/b`);
      await writeNewFile(fs, `${root}/b/f`, text('x'), { sync: false });
      await writeNewFile(fs, `${root}/g`, text('y'), { sync: false });
      await rejectsWith(fs.rename(`${root}/a`, `${root}/b`), 'HF_IO', 'ENOTEMPTY', 'EEXIST');
      await rejectsWith(fs.rename(`${root}/g`, `${root}/a`), 'HF_IO', 'EISDIR');
      await rejectsWith(fs.rename(`${root}/a`, `${root}/g`), 'HF_IO', 'ENOTDIR');
      await rejectsWith(fs.rename(`${root}/b`, `${root}/b/sub`), 'HF_IO', 'EINVAL');
      await rejectsWith(fs.rename(`${root}/nope`, `${root}/x`), 'HF_NOT_FOUND', 'ENOENT');
      assert.deepEqual(await fs.readdir(root), ['a', 'b', 'g']);
    });

    withFs('unlink removes files only; rmdir removes empty directories only', async (fs, root) => {
      await fs.mkdir(`${root}/d`);
      await writeNewFile(fs, `${root}/d/f`, text('x'), { sync: false });
      await rejectsWith(fs.rmdir(`${root}/d`), 'HF_IO', 'ENOTEMPTY', 'EEXIST');
      await rejectsWith(fs.rmdir(`${root}/d/f`), 'HF_IO', 'ENOTDIR');
      await rejectsWith(fs.unlink(`${root}/d`), 'HF_IO', 'EISDIR', 'EPERM');
      await fs.unlink(`${root}/d/f`);
      await fs.rmdir(`${root}/d`);
      assert.deepEqual(await fs.readdir(root), []);
    });

    withFs('mkdir refuses an existing name and a missing parent', async (fs, root) => {
      await fs.mkdir(`${root}/d`);
      await rejectsWith(fs.mkdir(`${root}/d`), 'HF_IO', 'EEXIST');
      await rejectsWith(fs.mkdir(`${root}/x/y`), 'HF_NOT_FOUND', 'ENOENT');
    });

    withFs('ENOENT is HF_NOT_FOUND everywhere; a file in the middle of a path is ENOTDIR', async (fs, root) => {
      const missing = `${root}/missing`;
      await rejectsWith(fs.stat(missing), 'HF_NOT_FOUND', 'ENOENT');
      await rejectsWith(fs.open(missing, 'read'), 'HF_NOT_FOUND', 'ENOENT');
      await rejectsWith(fs.unlink(missing), 'HF_NOT_FOUND', 'ENOENT');
      await rejectsWith(fs.rmdir(missing), 'HF_NOT_FOUND', 'ENOENT');
      await rejectsWith(fs.readdir(missing), 'HF_NOT_FOUND', 'ENOENT');
      await rejectsWith(fs.syncDir(missing), 'HF_NOT_FOUND', 'ENOENT');
      await rejectsWith(fs.open(`${missing}/f`, 'create'), 'HF_NOT_FOUND', 'ENOENT');
      await writeNewFile(fs, `${root}/f`, text('x'), { sync: false });
      await rejectsWith(fs.stat(`${root}/f/g`), 'HF_IO', 'ENOTDIR');
      await rejectsWith(fs.open(`${root}/f/g`, 'create'), 'HF_IO', 'ENOTDIR');
    });

    withFs('errors name the path and the syscall', async (fs, root) => {
      await assert.rejects(fs.stat(`${root}/missing`), (e: unknown) => {
        assert.ok(isHoldfastError(e));
        assert.equal(e.path, `${root}/missing`);
        assert.equal(e.data['syscall'], 'lstat');
        assert.ok(e.message.startsWith(`lstat ${root}/missing: `), e.message);
        return true;
      });
    });

    withFs('syncs succeed: fsync, fdatasync, syncDir', async (fs, root) => {
      const fh = await fs.open(`${root}/f`, 'create');
      await fh.pwrite(text('x'), 0);
      await fh.sync();
      await fh.datasync();
      await fh.close();
      await fs.syncDir(root);
      await rejectsWith(fs.syncDir(`${root}/f`), 'HF_IO', 'ENOTDIR');
    });

    withFs('handles are bound to the inode: writes after rename land in the renamed file', async (fs, root) => {
      const fh = await fs.open(`${root}/a`, 'create');
      await fs.rename(`${root}/a`, `${root}/b`);
      await fh.pwrite(text('moved'), 0);
      await fh.close();
      assert.equal(new TextDecoder().decode(await readWholeFile(fs, `${root}/b`)), 'moved');
      const rh = await fs.open(`${root}/b`, 'read');
      await fs.unlink(`${root}/b`);
      const buf = new Uint8Array(5);
      assert.equal(await rh.pread(buf, 0), 5);
      await rh.close();
    });

    withFs('a read handle cannot write; a write handle cannot read (EBADF)', async (fs, root) => {
      await writeNewFile(fs, `${root}/f`, text('abc'), { sync: false });
      const rh = await fs.open(`${root}/f`, 'read');
      await rejectsWith(rh.pwrite(text('x'), 0), 'HF_IO', 'EBADF');
      await rh.close();
      const wh = await fs.open(`${root}/f`, 'write');
      await rejectsWith(wh.pread(new Uint8Array(1), 0), 'HF_IO', 'EBADF');
      await wh.close();
    });

    // Before O_NONBLOCK + fstat, open(2) of a FIFO blocked until a peer appeared: every command hung.
    it('a FIFO or other special file is refused at open (HF_IO naming it), for reading and writing, never blocking', { timeout: 10_000 }, async () => {
      const { fs, root, cleanup, makeFifo } = await makeFs();
      try {
        if (makeFifo === undefined) return;
        const p = `${root}/fifo`;
        await makeFifo(p);
        assert.equal((await fs.stat(p)).type, 'other');
        for (const mode of ['read', 'write'] as const) {
          await assert.rejects(fs.open(p, mode), (e: unknown) => {
            assert.ok(isHoldfastError(e, 'HF_IO'), `${mode}: expected HF_IO, got ${String(e)}`);
            assert.match(e.message, new RegExp(`^open ${p}: is (a FIFO|a special file \\(a FIFO, socket or device\\)), expected a regular file$`));
            assert.equal(e.path, p);
            return true;
          });
        }
        await rejectsWith(fs.open(p, 'create'), 'HF_IO', 'EEXIST');
        await assert.rejects(readWholeFile(fs, p), /expected a regular file/);
      } finally {
        await cleanup();
      }
    });

    withFs('a directory opens for reading but reads fail (EISDIR); it cannot be opened for writing', async (fs, root) => {
      await fs.mkdir(`${root}/d`);
      const dh = await fs.open(`${root}/d`, 'read');
      assert.equal((await dh.stat()).type, 'directory');
      await rejectsWith(dh.pread(new Uint8Array(1), 0), 'HF_IO', 'EISDIR');
      await dh.close();
      await rejectsWith(fs.open(`${root}/d`, 'write'), 'HF_IO', 'EISDIR');
    });
  });
}
