/** The crash model's rules, one describe per group; rule ids (R1–R12, B3) are defined in docs/CRASH-MODEL.md. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { CrashModel, processKillState, type CrashModelOptions, type CrashState } from '../../src/fs/crash-model.js';
import { FaultyFileSystem } from '../../src/fs/faulty-file-system.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { writeNewFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { lookupTree, treeFromSpec, type MemoryTree, type TreeNode, type TreeSpec } from '../../src/fs/memory-tree.js';
import { RecordingFileSystem } from '../../src/fs/recording-file-system.js';

const BLOCK = 4096;

interface Recorded {
  model: (options?: CrashModelOptions) => CrashModel;
  memory: MemoryFileSystem;
  rec: RecordingFileSystem;
}

/** Runs `work` on a recording over a memory fs that starts (durably) as `spec`. */
async function record(spec: TreeSpec, work: (fs: FileSystem, memory: MemoryFileSystem) => Promise<void>): Promise<Recorded> {
  const memory = MemoryFileSystem.fromTree(treeFromSpec(spec));
  const initial = memory.snapshot();
  const rec = new RecordingFileSystem(memory);
  await work(rec, memory);
  return { model: (options) => new CrashModel(initial, rec.log, options), memory, rec };
}

function finalStates(model: CrashModel): CrashState[] {
  return [...model.states(model.crashPoints() - 1)];
}

const fileAt = (tree: MemoryTree, path: string): Uint8Array | undefined => {
  const node: TreeNode | undefined = lookupTree(tree, path);
  return node?.type === 'file' ? node.bytes : undefined;
};

const filled = (sizeBytes: number, byte: number): Uint8Array => new Uint8Array(sizeBytes).fill(byte);
const blockBytes = (bytes: Uint8Array, block: number): number[] => [...new Set(bytes.subarray(block * BLOCK, (block + 1) * BLOCK))];

describe('CrashModel: directory entries (R1, R5, R6)', () => {
  it('a created and fsynced file can vanish until its directory is synced; after syncDir it is always there, whole', async () => {
    const payload = filled(3 * BLOCK, 7);
    const r = await record({ d: {} }, async (fs) => {
      await writeNewFile(fs, '/d/f', payload, { sync: true });
    });
    const before = finalStates(r.model());
    assert.ok(before.some((s) => fileAt(s.tree, '/d/f') === undefined), 'fsync alone must not make the name durable');
    assert.ok(before.some((s) => fileAt(s.tree, '/d/f') !== undefined));
    // Data was fsynced: whenever the name survived, so did all of the bytes.
    for (const s of before) {
      const f = fileAt(s.tree, '/d/f');
      if (f !== undefined) assert.deepEqual(f, payload, s.description);
    }

    const after = await record({ d: {} }, async (fs) => {
      await writeNewFile(fs, '/d/f', payload, { sync: true });
      await fs.syncDir('/d');
    });
    const synced = finalStates(after.model());
    assert.equal(synced.length, 1);
    assert.deepEqual(fileAt(synced[0]!.tree, '/d/f'), payload);
  });

  it('a directory rename not followed by a sync of its parent may not have happened; with the sync it always has', async () => {
    const spec = { root: { stage: { m: 'manifest' } } };
    const unsynced = await record(spec, async (fs) => fs.rename('/root/stage', '/root/ckpt'));
    const states = finalStates(unsynced.model());
    assert.deepEqual(states.map((s) => [lookupTree(s.tree, '/root/stage') !== undefined, lookupTree(s.tree, '/root/ckpt') !== undefined]).sort(), [
      [false, true],
      [true, false],
    ]); // atomic: never both, never neither

    const synced = await record(spec, async (fs) => {
      await fs.rename('/root/stage', '/root/ckpt');
      await fs.syncDir('/root');
    });
    for (const s of finalStates(synced.model())) {
      assert.equal(lookupTree(s.tree, '/root/stage'), undefined);
      assert.deepEqual(fileAt(s.tree, '/root/ckpt/m'), new TextEncoder().encode('manifest'));
    }
  });

  it('a rename between two directories is durable only once both are synced', async () => {
    const spec = { a: { f: 'x' }, b: {} };
    const count = async (syncs: string[]): Promise<number> => {
      const r = await record(spec, async (fs) => {
        await fs.rename('/a/f', '/b/f');
        for (const d of syncs) await fs.syncDir(d);
      });
      return finalStates(r.model()).length;
    };
    assert.equal(await count([]), 2);
    assert.equal(await count(['/a']), 2);
    assert.equal(await count(['/b']), 2);
    assert.equal(await count(['/a', '/b']), 1);
  });

  it('entries under a lost directory are unreachable (R6); a synced child is never seen without its parent entry', async () => {
    const r = await record({}, async (fs) => {
      await fs.mkdir('/d');
      await writeNewFile(fs, '/d/f', filled(10, 1), { sync: true });
      await fs.syncDir('/d');
    });
    const states = finalStates(r.model());
    assert.ok(states.some((s) => lookupTree(s.tree, '/d') === undefined));
    for (const s of states) {
      if (lookupTree(s.tree, '/d') !== undefined) assert.deepEqual(fileAt(s.tree, '/d/f'), filled(10, 1));
    }
  });

  it('replays entry effects in order: a durable unlink still wins over a pending rename into the same directory', async () => {
    const r = await record({ a: { f: 'x' }, b: {} }, async (fs) => {
      await fs.rename('/a/f', '/b/f');
      await fs.unlink('/b/f');
      await fs.syncDir('/b'); // the unlink is durable; the rename still needs /a synced
    });
    for (const s of finalStates(r.model())) assert.equal(lookupTree(s.tree, '/b/f'), undefined, s.description);
  });
});

describe('CrashModel: file data and size (R2, R3, R4)', () => {
  it('an unsynced overwrite may persist block by block: old and new 4096 B blocks mix', async () => {
    const r = await record({ f: filled(2 * BLOCK, 0xaa) }, async (fs) => {
      const fh = await fs.open('/f', 'write');
      await fh.pwrite(filled(2 * BLOCK, 0xbb), 0);
      await fh.close();
    });
    const mixes = finalStates(r.model()).map((s) => {
      const f = fileAt(s.tree, '/f')!;
      return `${blockBytes(f, 0)}/${blockBytes(f, 1)}`;
    });
    assert.deepEqual(mixes.sort(), ['170/170', '170/187', '187/170', '187/187']);
  });

  it('with lostBlockContent zeros, a lost block of an existing file may read as zeros', async () => {
    const r = await record({ f: filled(BLOCK, 0xaa) }, async (fs) => {
      const fh = await fs.open('/f', 'write');
      await fh.pwrite(filled(BLOCK, 0xbb), 0);
      await fh.close();
    });
    const contents = finalStates(r.model({ lostBlockContent: 'zeros' })).map((s) => blockBytes(fileAt(s.tree, '/f')!, 0).join());
    assert.deepEqual(contents.sort(), ['0', '187']);
  });

  it('an unsynced append may leave the old size, the new size with zeros, or the data (R4)', async () => {
    const r = await record({ f: filled(BLOCK, 1) }, async (fs) => {
      const fh = await fs.open('/f', 'write');
      await fh.pwrite(filled(BLOCK, 2), BLOCK);
      await fh.close();
    });
    const shapes = finalStates(r.model()).map((s) => {
      const f = fileAt(s.tree, '/f')!;
      return f.length === BLOCK ? 'old size' : `new size, tail ${blockBytes(f, 1).join()}`;
    });
    assert.deepEqual(shapes.sort(), ['new size, tail 0', 'new size, tail 2', 'old size']);
  });

  it('a new file written but never fsynced may have its name with no data, or partial data', async () => {
    const r = await record({}, async (fs) => {
      await writeNewFile(fs, '/f', filled(2 * BLOCK, 9), { sync: false });
      await fs.syncDir('/');
    });
    const sizes = new Set(finalStates(r.model()).map((s) => fileAt(s.tree, '/f')?.length));
    assert.deepEqual([...sizes].sort(), [0, 2 * BLOCK]);
    assert.ok(finalStates(r.model()).some((s) => fileAt(s.tree, '/f')!.length === 2 * BLOCK && blockBytes(fileAt(s.tree, '/f')!, 1).join() === '0'));
  });

  it('a truncate is a pending unit: applied or dropped', async () => {
    const r = await record({ f: filled(2 * BLOCK, 3) }, async (fs) => {
      const fh = await fs.open('/f', 'write');
      await fh.truncate(100);
      await fh.close();
    });
    assert.deepEqual(finalStates(r.model()).map((s) => fileAt(s.tree, '/f')!.length).sort(), [100, 2 * BLOCK].sort());
  });

  it('with tornSectors, some state keeps only part of a block, cut on a 512 B edge', async () => {
    const r = await record({ f: filled(BLOCK, 0xaa) }, async (fs) => {
      const fh = await fs.open('/f', 'write');
      await fh.pwrite(filled(BLOCK, 0xbb), 0);
      await fh.close();
    });
    const states = finalStates(r.model({ tornSectors: true, seed: 3 }));
    const torn = states.filter((s) => blockBytes(fileAt(s.tree, '/f')!, 0).length === 2);
    assert.ok(torn.length > 0);
    for (const s of torn) {
      const f = fileAt(s.tree, '/f')!;
      const cut = f.findIndex((b, i) => i > 0 && b !== f[i - 1]);
      assert.equal(cut % 512, 0, s.description);
      assert.match(s.description, /torn (head to|tail from) \d+/);
    }
  });

  it('after a failed fsync the data stays undetermined, even after a later successful fsync (R10)', async () => {
    const memory = MemoryFileSystem.fromTree(treeFromSpec({ f: filled(BLOCK, 1) }));
    const initial = memory.snapshot();
    const faulty = new FaultyFileSystem(memory).addRule({ on: 'fsync', fault: { type: 'error', errno: 'EIO' } });
    const rec = new RecordingFileSystem(faulty);
    const fh = await rec.open('/f', 'write');
    await fh.pwrite(filled(BLOCK, 2), 0);
    await assert.rejects(fh.sync());
    await fh.sync();
    await fh.close();
    const contents = finalStates(new CrashModel(initial, rec.log)).map((s) => blockBytes(fileAt(s.tree, '/f')!, 0).join());
    assert.deepEqual(contents.sort(), ['1', '2']);
  });
});

describe('CrashModel: the commit protocol has teeth (R12)', () => {
  const payload = filled(BLOCK + 100, 5);
  async function commit(fs: FileSystem, dirSyncs: boolean): Promise<void> {
    await fs.mkdir('/s/x');
    if (dirSyncs) await fs.syncDir('/s');
    await writeNewFile(fs, '/s/x/shard', payload, { sync: true });
    await writeNewFile(fs, '/s/x/manifest', filled(10, 1), { sync: true });
    if (dirSyncs) await fs.syncDir('/s/x');
    await fs.rename('/s/x', '/ckpt');
    // R5: a rename between directories is pending in both until both are synced.
    if (dirSyncs) await fs.syncDir('/');
    if (dirSyncs) await fs.syncDir('/s');
  }
  const complete = (s: CrashState): boolean =>
    fileAt(s.tree, '/ckpt/manifest') !== undefined && Buffer.from(fileAt(s.tree, '/ckpt/shard') ?? []).equals(payload);

  it('atomic_dirsync: in every state of every crash point the checkpoint is absent or whole, and whole once committed', async () => {
    const r = await record({ s: {} }, (fs) => commit(fs, true));
    const model = r.model();
    for (let k = 0; k < model.crashPoints(); k++) {
      for (const s of model.states(k)) {
        const present = lookupTree(s.tree, '/ckpt') !== undefined;
        assert.ok(!present || complete(s), s.description);
        if (k === model.crashPoints() - 1) assert.ok(present, s.description);
      }
    }
  });

  it('atomic_nodirsync: after the save returned, some state has lost or torn the checkpoint', async () => {
    const r = await record({ s: {} }, (fs) => commit(fs, false));
    const states = finalStates(r.model());
    assert.ok(states.some((s) => lookupTree(s.tree, '/ckpt') === undefined));
    assert.ok(states.some((s) => lookupTree(s.tree, '/ckpt') !== undefined && !complete(s)));
  });
});

describe('CrashModel: enumeration (R7, R11)', () => {
  it('tries all 2^n subsets up to 12 pending units and dedupes identical trees', async () => {
    const r = await record({ d: {} }, async (fs) => {
      for (const n of ['a', 'b', 'c']) await writeNewFile(fs, `/d/${n}`, filled(10, 1), { sync: true });
    });
    const model = r.model();
    const k = model.crashPoints() - 1;
    assert.equal(model.pendingUnitCount(k), 3);
    assert.equal(model.subsetCount(k), 8);
    assert.equal(finalStates(model).length, 8);
    // Unsynced data under a synced name: units that change nothing observable dedupe away.
    const dup = await record({ f: filled(BLOCK, 1) }, async (fs) => {
      const fh = await fs.open('/f', 'write');
      await fh.pwrite(filled(BLOCK, 1), 0); // same bytes as before
      await fh.close();
    });
    const m2 = dup.model();
    assert.equal(m2.subsetCount(1), 2);
    assert.equal([...m2.states(1)].length, 1);
    assert.equal(m2.report().duplicateStates, 1);
  });

  it('beyond 12 units: all kept, none kept, each alone lost, each alone kept, each op omitted, N seeded random subsets', async () => {
    const r = await record({}, async (fs) => {
      await writeNewFile(fs, '/f', new Uint8Array(20 * BLOCK).map((_, i) => i % 251), { sync: false });
    });
    const model = r.model({ seed: 11, maxRandomSubsets: 40 });
    const k = model.crashPoints() - 1;
    const n = model.pendingUnitCount(k);
    assert.equal(n, 22); // create + 20 data units + 1 size unit
    assert.equal(model.subsetCount(k), 2 + 2 * n + 1 + 40); // one op (the pwrite) has several units
    assert.match(model.stateAt(k, 2 + 2 * n).description, /subset 46: op #1 omitted; 22 pending; kept: #0 create \/f$/);
    const states = [...model.states(k)];
    assert.ok(states.length > n, `${states.length} distinct states`);
    for (const s of states.slice(0, 5)) assert.equal(model.stateAt(k, s.subsetIndex).digest, s.digest);
    assert.match(states[0]!.description, /^seed 11 crash point 2 \(after #1 pwrite \/f @0\+81920\), subset 0: all kept/);
  });

  it('the same seed gives the same states; another seed other random subsets', async () => {
    const r = await record({}, async (fs) => {
      await writeNewFile(fs, '/f', new Uint8Array(16 * BLOCK).map((_, i) => i % 13), { sync: false });
    });
    const digests = (seed: number): string[] => finalStates(r.model({ seed, maxRandomSubsets: 64 })).map((s) => `${s.subsetIndex}:${s.digest}`);
    assert.deepEqual(digests(1), digests(1));
    assert.notDeepEqual(digests(1), digests(2));
    const garbage = (seed: number): string[] => finalStates(r.model({ seed, lostBlockContent: 'garbage', maxRandomSubsets: 8 })).map((s) => s.digest);
    assert.deepEqual(garbage(4), garbage(4));
  });

  it('dedupes across crash points with a shared seen set', async () => {
    const r = await record({}, async (fs) => {
      await fs.mkdir('/d');
      await fs.syncDir('/');
    });
    const model = r.model();
    const seen = new Set<string>();
    const counts = [0, 1, 2].map((k) => [...model.states(k, { seen })].length);
    assert.deepEqual(counts, [1, 1, 0]);
    assert.equal(model.report().statesYielded, 2);
  });

  it('puts crash points after syncs and renames first (B3)', async () => {
    const r = await record({}, async (fs) => {
      await fs.mkdir('/a'); // #0
      await fs.syncDir('/'); // #1
      await fs.rename('/a', '/b'); // #2
    });
    assert.deepEqual(r.model().prioritizedCrashPoints(), [2, 3, 0, 1]);
  });
});

describe('CrashModel: process kill (R9) and fidelity', () => {
  it('subset 0 at every crash point is exactly the file system after that many ops', async () => {
    const memory = new MemoryFileSystem();
    const initial = memory.snapshot();
    const rec = new RecordingFileSystem(memory);
    const expected = new Map<number, string>([[0, memory.digest()]]);
    const step = async (op: () => Promise<unknown>): Promise<void> => {
      await op();
      expected.set(rec.log.length, memory.digest());
    };
    await step(() => rec.mkdir('/a'));
    const fh = await rec.open('/a/f', 'create');
    expected.set(rec.log.length, memory.digest());
    await step(() => fh.pwrite(filled(5000, 1), 100));
    await step(() => rec.mkdir('/a/sub'));
    await step(() => rec.rename('/a', '/b'));
    await step(() => fh.pwrite(filled(3, 2), 9000));
    await step(() => fh.truncate(7000));
    await step(() => fh.sync());
    await step(() => rec.syncDir('/b'));
    await step(() => rec.rename('/b/f', '/b/sub/g'));
    await step(() => fh.pwrite(filled(10, 3), 0));
    await step(() => rec.unlink('/b/sub/g'));
    await step(() => fh.pwrite(filled(10, 4), 0)); // orphaned: reaches no name
    await fh.close();
    const model = new CrashModel(initial, rec.log);
    for (const [k, digest] of expected) {
      assert.equal(model.processKillState(k).digest, digest, `crash point ${k}`);
      assert.equal(processKillState(initial, rec.log, k).digest(), digest);
    }
  });

  it('a pwrite in flight at a process kill may land as a prefix of whole pages', async () => {
    const r = await record({}, async (fs) => {
      await writeNewFile(fs, '/f', filled(3 * BLOCK, 8), { sync: false });
    });
    const initial = new MemoryFileSystem().snapshot();
    const state = processKillState(initial, r.rec.log, 1, 2);
    assert.equal((await state.stat('/f')).sizeBytes, 2 * BLOCK);
  });

  it('a state file system is independent of its tree and of the other states', async () => {
    const r = await record({ f: 'abc' }, async () => {});
    const s = r.model().stateAt(0, 0);
    const fh = await s.fs.open('/f', 'write');
    await fh.pwrite(filled(3, 0), 0);
    await fh.close();
    assert.equal(new TextDecoder().decode(fileAt(s.tree, '/f')), 'abc');
    assert.equal(new TextDecoder().decode(fileAt(r.model().stateAt(0, 0).tree, '/f')), 'abc');
  });

  it('rejects a log that does not fit the initial tree, and crash points out of range', async () => {
    const r = await record({ a: {} }, async (fs) => fs.rmdir('/a'));
    assert.throws(() => new CrashModel(new MemoryFileSystem(), r.rec.log), (e: unknown) => isHoldfastError(e, 'HF_INVALID_ARG'));
    assert.throws(() => r.model().subsetCount(5), (e: unknown) => isHoldfastError(e, 'HF_INVALID_ARG'));
  });
});

describe('CrashModel: whole-run smoke', () => {
  it('explores every crash point of a small save and reports counts', async () => {
    const r = await record({ s: {} }, async (fs) => {
      await fs.mkdir('/s/x');
      await fs.syncDir('/s');
      for (let i = 0; i < 3; i++) await writeNewFile(fs, `/s/x/r${i}`, filled(12 * BLOCK + i, i + 1), { sync: true });
      await fs.syncDir('/s/x');
      await fs.rename('/s/x', '/c');
      await fs.syncDir('/');
      await fs.syncDir('/s');
    });
    const model = r.model({ maxRandomSubsets: 64 });
    const seen = new Set<string>();
    let total = 0;
    for (const k of model.prioritizedCrashPoints()) for (const s of model.states(k, { seen })) total += s.fs ? 1 : 0;
    const report = model.report();
    assert.equal(report.crashPointsExplored, model.crashPoints());
    assert.equal(report.statesYielded, total);
    assert.equal(report.subsetsTried, report.statesYielded + report.duplicateStates);
    assert.ok(report.sampledCrashPoints > 0 && report.exhaustiveCrashPoints > 0);
  });
});
