import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrashModel } from '../../src/fs/crash-model.js';
import type { FileHandle } from '../../src/fs/file-system.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { RecordingFileSystem } from '../../src/fs/recording-file-system.js';
import { SeededRandom } from '../../src/fs/seeded-random.js';

/**
 * Random namespace and data workloads (seeded): the model must agree with the
 * file system it recorded, op by op, and once everything is synced it must
 * leave no freedom at all.
 */
async function randomWorkload(seed: number): Promise<{ rec: RecordingFileSystem; memory: MemoryFileSystem; initial: ReturnType<MemoryFileSystem['snapshot']>; live: Map<number, string> }> {
  const rng = new SeededRandom(seed);
  const memory = new MemoryFileSystem();
  await memory.mkdir('/d0');
  const initial = memory.snapshot();
  const rec = new RecordingFileSystem(memory);
  const live = new Map<number, string>([[0, memory.digest()]]);
  const dirs = ['/', '/d0'];
  const handles: FileHandle[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;
  for (let step = 0; step < 40; step++) {
    const dir = pick(dirs);
    const name = `${dir === '/' ? '' : dir}/n${rng.nextInt(6)}`;
    const existing = await memory.readdir(dir).catch(() => [] as string[]); // unlogged peek: aim renames at real entries
    const victim = existing.length > 0 ? `${dir === '/' ? '' : dir}/${pick(existing)}` : name;
    try {
      switch (rng.nextInt(7)) {
        case 0:
          await rec.mkdir(name);
          dirs.push(name);
          break;
        case 1:
          handles.push(await rec.open(name, 'create'));
          break;
        case 2:
          if (handles.length > 0) await pick(handles).pwrite(rng.fillBytes(new Uint8Array(1 + rng.nextInt(9000))), rng.nextInt(6000));
          break;
        case 3:
          if (handles.length > 0) await pick(handles).truncate(rng.nextInt(7000));
          break;
        case 4:
          await rec.rename(victim, `${pick(dirs) === '/' ? '' : pick(dirs)}/n${rng.nextInt(6)}`);
          break;
        case 5:
          await rec.unlink(victim);
          break;
        default:
          if (handles.length > 0) await pick(handles).sync();
      }
    } catch {
      // Invalid random ops (EEXIST, ENOENT, …) fail on the file system and are logged as failed.
    }
    live.set(rec.log.length, memory.digest());
  }
  for (const h of handles) await h.sync().catch(() => undefined);
  for (const d of await liveDirs(memory, '/')) await rec.syncDir(d);
  live.set(rec.log.length, memory.digest());
  return { rec, memory, initial, live };
}

async function liveDirs(fs: MemoryFileSystem, dir: string): Promise<string[]> {
  const out = [dir];
  for (const name of await fs.readdir(dir)) {
    const p = `${dir === '/' ? '' : dir}/${name}`;
    if ((await fs.stat(p)).type === 'directory') out.push(...(await liveDirs(fs, p)));
  }
  return out;
}

describe('CrashModel fuzz (seeded random workloads)', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`seed ${seed}: the all-kept state tracks the file system op by op; after syncing everything one state is left`, async () => {
      const { rec, memory, initial, live } = await randomWorkload(seed);
      const model = new CrashModel(initial, rec.log, { seed, maxRandomSubsets: 16 });
      for (const [k, digest] of live) assert.equal(model.processKillState(k).digest, digest, `seed ${seed} crash point ${k}`);
      const last = [...model.states(rec.log.length)];
      assert.equal(last.length, 1, last.map((s) => s.description).join('\n'));
      assert.equal(last[0]!.digest, memory.digest());
      const succeeded = new Set(rec.log.filter((op) => op.error === undefined).map((op) => op.kind));
      assert.ok(succeeded.has('pwrite') && succeeded.has('create'), `seed ${seed} exercised ${[...succeeded].join(',')}`);
      for (let k = 0; k <= rec.log.length; k++) for (const s of model.states(k)) assert.ok(s.tree.type === 'directory');
    });
  }
});
