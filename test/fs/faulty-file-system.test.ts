import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { FaultyFileSystem } from '../../src/fs/faulty-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { readWholeFile, writeNewFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { fileSystemConformance, rejectsWith } from './conformance.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

fileSystemConformance('faulty(memory) without rules', async () => {
  const fs = new FaultyFileSystem(new MemoryFileSystem());
  await fs.mkdir('/work');
  return { fs, root: '/work', cleanup: async () => {} };
});

/** A tiny save: staging dir, file, fsync, dir sync, rename, dir sync. */
async function save(fs: FileSystem): Promise<void> {
  await fs.mkdir('/stage');
  await writeNewFile(fs, '/stage/f', text('payload'), { sync: true });
  await fs.syncDir('/stage');
  await fs.rename('/stage', '/ckpt');
  await fs.syncDir('/');
}

describe('FaultyFileSystem', () => {
  it('numbers every call; failing call i for each i makes the workload fail at exactly that call', async () => {
    const clean = new FaultyFileSystem(new MemoryFileSystem());
    await save(clean);
    const total = clean.callCount;
    assert.deepEqual(
      clean.callLog.map((c) => c.kind),
      ['mkdir', 'create', 'pwrite', 'fsync', 'close', 'syncDir', 'rename', 'syncDir'],
    );
    for (let i = 0; i < total; i++) {
      const memory = new MemoryFileSystem();
      const fs = new FaultyFileSystem(memory).failAtCall(i, 'EIO');
      const kind = clean.callLog[i]!.kind;
      await rejectsWith(save(fs), 'HF_IO', 'EIO');
      assert.deepEqual(fs.injected.map((f) => [f.index, f.kind]), [[i, kind]]);
      // The faulted call did not happen (close still releases the handle), so no checkpoint exists.
      assert.equal((await memory.readdir('/')).includes('ckpt'), i === total - 1, `call ${i} (${kind})`);
    }
  });

  it('errors look real: HF_IO, errno, syscall, path, and injected: true', async () => {
    const fs = new FaultyFileSystem(new MemoryFileSystem()).failAtCall(0, 'EDQUOT');
    await assert.rejects(fs.mkdir('/d'), (e: unknown) => {
      assert.ok(isHoldfastError(e, 'HF_IO'));
      assert.deepEqual([e.data['errno'], e.data['syscall'], e.data['injected'], e.path], ['EDQUOT', 'mkdir', true, '/d']);
      return true;
    });
  });

  it('transient faults fire once; persistent ones on every later matching call', async () => {
    const once = new FaultyFileSystem(new MemoryFileSystem()).addRule({ on: 'mkdir', nth: 1, fault: { type: 'error', errno: 'EIO' } });
    await once.mkdir('/a');
    await rejectsWith(once.mkdir('/b'), 'HF_IO', 'EIO');
    await once.mkdir('/c');
    assert.deepEqual(await once.readdir('/'), ['a', 'c']);

    const always = new FaultyFileSystem(new MemoryFileSystem()).addRule({ on: 'mkdir', nth: 1, persistent: true, fault: { type: 'error', errno: 'ENOSPC' } });
    await always.mkdir('/a');
    await rejectsWith(always.mkdir('/b'), 'HF_IO', 'ENOSPC');
    await rejectsWith(always.mkdir('/c'), 'HF_IO', 'ENOSPC');
    await always.open('/f', 'create'); // other kinds are unaffected
  });

  it('failAtCall persistent fails every later call of the same kind only', async () => {
    const fs = new FaultyFileSystem(new MemoryFileSystem()).failAtCall(1, 'EIO', { persistent: true });
    await fs.mkdir('/a');
    await rejectsWith(fs.mkdir('/b'), 'HF_IO', 'EIO');
    await fs.syncDir('/');
    await rejectsWith(fs.mkdir('/c'), 'HF_IO', 'EIO');
  });

  it('rules can target mutating calls on matching paths', async () => {
    const fs = new FaultyFileSystem(new MemoryFileSystem()).addRule({ on: 'mutating', path: 'manifest', fault: { type: 'error', errno: 'EIO' } });
    await writeNewFile(fs, '/shard', text('s'), { sync: true });
    await fs.stat('/shard');
    await rejectsWith(writeNewFile(fs, '/manifest.json', text('m'), { sync: true }), 'HF_IO', 'EIO');
    assert.deepEqual(fs.injected.map((f) => [f.kind, f.path]), [['create', '/manifest.json']]);
    const pred = new FaultyFileSystem(new MemoryFileSystem()).addRule({ on: 'rename', path: (p) => p.endsWith('/new'), fault: { type: 'error', errno: 'EIO' } });
    await pred.mkdir('/old');
    await rejectsWith(pred.rename('/old', '/new'), 'HF_IO', 'EIO');
  });

  it('ENOSPC in a pwrite writes a prefix first (short write); EIO writes nothing', async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFileSystem(memory).addRule({ on: 'pwrite', fault: { type: 'error', errno: 'ENOSPC' } });
    const fh = await fs.open('/f', 'create');
    await assert.rejects(fh.pwrite(text('abcdefgh'), 0), (e: unknown) => isHoldfastError(e) && e.data['bytesWritten'] === 4);
    await fh.close();
    assert.equal(new TextDecoder().decode(await readWholeFile(memory, '/f')), 'abcd');
    assert.equal(fs.injected[0]!.detail, 'wrote 4 of 8 bytes');

    const eio = new MemoryFileSystem();
    const fs2 = new FaultyFileSystem(eio).addRule({ on: 'pwrite', fault: { type: 'error', errno: 'EIO' } });
    const fh2 = await fs2.open('/f', 'create');
    await rejectsWith(fh2.pwrite(text('abcdefgh'), 0), 'HF_IO', 'EIO');
    assert.equal((await eio.stat('/f')).sizeBytes, 0);
  });

  it('a `direct` rule faults only calls on O_DIRECT handles; openHandles counts what is not closed', async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFileSystem(memory).addRule({ on: 'pwrite', direct: true, fault: { type: 'error', errno: 'EINVAL' } });
    const buffered = await fs.open('/a', 'create');
    await buffered.pwrite(text('kept'), 0);
    const direct = await fs.open('/b', 'create', { direct: true });
    assert.equal(fs.openHandles, 2);
    await rejectsWith(direct.pwrite(text('refused'), 0), 'HF_IO', 'EINVAL');
    await direct.close();
    await buffered.close();
    assert.equal(fs.openHandles, 0);
    assert.equal((await memory.stat('/b')).sizeBytes, 0, 'EINVAL writes nothing');
    assert.equal(new TextDecoder().decode(await readWholeFile(memory, '/a')), 'kept');
  });

  it('after an injected fsync failure later syncs just forward (the engine must not retry)', async () => {
    const fs = new FaultyFileSystem(new MemoryFileSystem()).addRule({ on: 'fsync', fault: { type: 'error', errno: 'EIO' } });
    const fh = await fs.open('/f', 'create');
    await rejectsWith(fh.sync(), 'HF_IO', 'EIO');
    await fh.sync();
    await fh.close();
  });

  it('read faults: EIO, a short read, or one altered byte (seeded, replayable)', async () => {
    const memory = new MemoryFileSystem();
    const payload = new Uint8Array(64).map((_, i) => i);
    await writeNewFile(memory, '/f', payload, { sync: true });

    const eio = new FaultyFileSystem(memory).addRule({ on: 'pread', fault: { type: 'error', errno: 'EIO' } });
    await rejectsWith(readWholeFile(eio, '/f'), 'HF_IO', 'EIO');

    const short = new FaultyFileSystem(memory).addRule({ on: 'pread', fault: { type: 'shortRead' } });
    assert.equal((await readWholeFile(short, '/f')).length, 32);

    const flipped = async (seed: number): Promise<{ bytes: Uint8Array; detail: string | undefined }> => {
      const fs = new FaultyFileSystem(memory, { seed }).addRule({ on: 'pread', fault: { type: 'flipByte' } });
      const bytes = await readWholeFile(fs, '/f');
      return { bytes, detail: fs.injected[0]!.detail };
    };
    const a = await flipped(5);
    const diffs = [...a.bytes].flatMap((b, i) => (b !== payload[i] ? [i] : []));
    assert.equal(diffs.length, 1);
    assert.equal(a.detail, `altered byte at offset ${diffs[0]}`);
    assert.deepEqual(await flipped(5), a);
    assert.throws(() => new FaultyFileSystem(memory).addRule({ on: 'pwrite', fault: { type: 'flipByte' } }));
  });
});
