import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { lookupTree, treeDigest, treeFromSpec, SPECIAL } from '../../src/fs/memory-tree.js';
import { fileSystemConformance, rejectsWith } from './conformance.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

fileSystemConformance('memory', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/work');
  return { fs, root: '/work', cleanup: async () => {}, makeFifo: (p) => fs.createSpecial(p, 'other') };
});

// Paths like `//a`: the root itself as the working directory.
fileSystemConformance('memory (at the root)', async () => ({ fs: new MemoryFileSystem(), root: '/', cleanup: async () => {} }));

describe('MemoryFileSystem', () => {
  it('snapshot is isolated from later writes (copy-on-write both ways)', async () => {
    const fs = new MemoryFileSystem();
    await writeNewFile(fs, '/f', text('before'), { sync: true });
    const snap = fs.snapshot();
    const fh = await fs.open('/f', 'write');
    await fh.pwrite(text('AFTER!'), 0);
    await fh.close();
    assert.equal(decode((lookupTree(snap, '/f') as { bytes: Uint8Array }).bytes), 'before');
    const copy = MemoryFileSystem.fromTree(snap);
    const ch = await copy.open('/f', 'write');
    await ch.truncate(2);
    await ch.close();
    assert.equal(decode(await readWholeFile(copy, '/f')), 'be');
    assert.equal(decode((lookupTree(snap, '/f') as { bytes: Uint8Array }).bytes), 'before');
    assert.equal(decode(await readWholeFile(fs, '/f')), 'AFTER!');
  });

  it('clone and digest: equal trees have equal digests, any byte changes it', async () => {
    const fs = MemoryFileSystem.fromTree(treeFromSpec({ a: { b: 'x', c: new Uint8Array(10) }, d: {} }));
    const twin = fs.clone();
    assert.equal(fs.digest(), twin.digest());
    const fh = await twin.open('/a/c', 'write');
    await fh.pwrite(new Uint8Array([1]), 9);
    await fh.close();
    assert.notEqual(fs.digest(), twin.digest());
    await twin.mkdir('/e');
    assert.notEqual(treeDigest(fs.snapshot()), twin.digest());
  });

  it('grows by pwrite far past the end with zero fill, and keeps zeros after shrink + regrow', async () => {
    const fs = new MemoryFileSystem();
    const fh = await fs.open('/f', 'create');
    for (let i = 0; i < 100; i++) await fh.pwrite(new Uint8Array(1000).fill(7), i * 1000);
    await fh.pwrite(new Uint8Array([9]), 1_000_000);
    await fh.truncate(10);
    await fh.truncate(5000);
    await fh.close();
    const bytes = await readWholeFile(fs, '/f');
    assert.equal(bytes.length, 5000);
    assert.ok(bytes.subarray(0, 10).every((b) => b === 7));
    assert.ok(bytes.subarray(10).every((b) => b === 0));
  });

  it('special files: symlinks refuse to open (ELOOP) and are not followed; others are refused as not regular', async () => {
    const fs = MemoryFileSystem.fromTree(treeFromSpec({ link: { [SPECIAL]: 'symlink' } }));
    await fs.createSpecial('/fifo', 'other');
    assert.equal((await fs.stat('/link')).type, 'symlink');
    assert.equal((await fs.stat('/fifo')).type, 'other');
    await rejectsWith(fs.open('/link', 'read'), 'HF_IO', 'ELOOP');
    await assert.rejects(fs.open('/fifo', 'read'), { code: 'HF_IO', message: 'open /fifo: is a special file (a FIFO, socket or device), expected a regular file' });
    await rejectsWith(fs.stat('/link/x'), 'HF_NOT_FOUND', 'ENOENT');
    await rejectsWith(fs.open('/link', 'create'), 'HF_IO', 'EEXIST');
    await fs.unlink('/link');
    assert.deepEqual(await fs.readdir('/'), ['fifo']);
  });

  it('O_DIRECT handles require aligned offsets and lengths (EINVAL)', async () => {
    const fs = new MemoryFileSystem();
    const fh = await fs.open('/f', 'create', { direct: true });
    await fh.pwrite(new Uint8Array(4096), 4096);
    await rejectsWith(fh.pwrite(new Uint8Array(100), 0), 'HF_IO', 'EINVAL');
    await rejectsWith(fh.pwrite(new Uint8Array(4096), 10), 'HF_IO', 'EINVAL');
    await fh.truncate(5000);
    await fh.close();
  });

  it('closed handles fail with EBADF; the root cannot be removed or renamed', async () => {
    const fs = new MemoryFileSystem();
    const fh = await fs.open('/f', 'create');
    await fh.close();
    await rejectsWith(fh.pwrite(text('x'), 0), 'HF_IO', 'EBADF');
    await rejectsWith(fh.sync(), 'HF_IO', 'EBADF');
    await rejectsWith(fs.rmdir('/'), 'HF_IO', 'EBUSY');
    await rejectsWith(fs.rename('/', '/x'), 'HF_IO', 'EBUSY');
    await rejectsWith(fs.open('relative', 'create'), 'HF_IO', 'EINVAL');
  });

  it('dump lists every entry with size and hash', async () => {
    const fs = MemoryFileSystem.fromTree(treeFromSpec({ d: { f: 'hello' } }));
    const dump = fs.dump();
    assert.match(dump, /^\/d\/\n\/d\/f {2}5 B {2}sha256:[0-9a-f]{12} {2}68656c6c6f$/);
    assert.equal(new MemoryFileSystem().dump(), '(empty)');
  });
});
