/**
 * Found by `holdfast torture concurrent` (issue 9): a reader (`restore`,
 * `latest`) that lists the store, and then sees its newest candidate removed
 * by retention because another process committed a newer step and ran gc,
 * fails or answers with nothing, although a newer valid checkpoint exists.
 * Each test replays one interleaving deterministically by running the other
 * process's save + gc at a chosen point of the reader's walk.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { CheckpointReader, CheckpointStorage } from '../../src/storage/checkpoint-storage.js';
import type { FileHandle, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { FileSystemWrapper } from '../../src/fs/file-system-wrapper.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { openLocalStorage } from '../../src/storage/local-storage.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

/** The reader's storage, with `meanwhile` run once when `trigger` fires during the walk. */
function readerStorage(inner: CheckpointStorage, trigger: 'after-open' | 'before-read', meanwhile: () => Promise<void>): CheckpointStorage {
  let fired = false;
  const fire = async (): Promise<void> => {
    if (fired) return;
    fired = true;
    await meanwhile();
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'open') return Reflect.get(target, prop, receiver) as unknown;
      return async (step: number): Promise<CheckpointReader | undefined> => {
        const reader = await target.open(step);
        if (reader === undefined) return reader;
        if (trigger === 'after-open') {
          await fire();
          return reader;
        }
        return new Proxy(reader, {
          get(r, p, rr) {
            if (p !== 'readHashed' && p !== 'readSmallFile') return Reflect.get(r, p, rr) as unknown;
            const method = Reflect.get(r, p, rr) as (...a: unknown[]) => Promise<unknown>;
            return async (...a: unknown[]) => {
              // The manifest is read first; the removal lands before the first shard read.
              if (p === 'readHashed') await fire();
              return method.apply(r, a);
            };
          },
        });
      };
    },
  });
}

async function setup(t: import('node:test').TestContext, trigger: 'after-open' | 'before-read') {
  const root = tempDir(t);
  const writer = await openStore(root);
  await writer.save(1, { tensors: sampleTensors(1), state: { step: 1 } });
  await writer.save(2, { tensors: sampleTensors(2), state: { step: 2 } });
  // Another process: commits step 3, then applies retention (keepLast 1 removes 1 and 2: both legitimately).
  const meanwhile = async (): Promise<void> => {
    await writer.save(3, { tensors: sampleTensors(3), state: { step: 3 } });
    assert.deepEqual((await writer.gc({ keepLast: 1 })).removedSteps, [1, 2]);
  };
  const storage = await openLocalStorage(writer.fs, root, { durability: 'atomic_dirsync', create: false });
  return openStore({ storage: readerStorage(storage, trigger, meanwhile) });
}

test('latest() finds the step committed meanwhile when retention removed the listed newest before it was verified', async (t) => {
  const reader = await setup(t, 'after-open');
  // Step 2 was committed before latest() began, and step 3 replaced it: 3 is the only right answer.
  assert.equal((await reader.latest())?.step, 3);
});

test('restore() is not failed by a shard that retention removed between its manifest read and its shard read', async (t) => {
  const reader = await setup(t, 'before-read');
  const r = await reader.restore();
  assert.equal(r.step, 3);
  assert.deepEqual(r.skipped, [], 'a checkpoint removed by retention is not a failed one');
});

/**
 * An `unsafe` save wrote `manifest.json` in place (create, then write): a reader could read it empty,
 * take it for a torn checkpoint and quarantine the directory. When the reader's move came after the
 * save had read its manifest back, the save reported committed a checkpoint that was in quarantine
 * (the concurrency campaign's "committed step 25 was moved to quarantine"). The reader runs while
 * the manifest is being written, and its quarantine (if it gets that far) runs before, or only after,
 * the save returns.
 */
for (const readerMoves of ['before the save returns', 'after the save returns'] as const) {
  test(`a reader that runs while an unsafe save writes its manifest neither sees nor quarantines it (its move ${readerMoves})`, async (t) => {
    const root = tempDir(t);
    const first = await openStore(root);
    await first.save(1, { tensors: sampleTensors(1), state: { step: 1 } });
    let saveReturned!: () => void;
    const returned = new Promise<void>((resolve) => (saveReturned = resolve));
    let atQuarantine!: () => void;
    const reachedQuarantine = new Promise<void>((resolve) => (atQuarantine = resolve));
    const moved: number[] = [];
    const storage = await openLocalStorage(new PosixFileSystem(), root, { durability: 'atomic_dirsync', create: false });
    const reader = await openStore({
      storage: new Proxy(storage, {
        get(target, prop, receiver) {
          if (prop !== 'quarantine') return Reflect.get(target, prop, receiver) as unknown;
          return async (step: number, reason: string) => {
            moved.push(step);
            atQuarantine();
            if (readerMoves === 'after the save returns') await returned;
            return target.quarantine(step, reason);
          };
        },
      }),
    });
    let readerCall: Promise<number | null> | undefined;
    class ReaderRunsWhileTheManifestIsWritten extends FileSystemWrapper {
      override async open(p: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
        const fh = await super.open(p, mode, options);
        if (mode === 'create' && readerCall === undefined && /\/ckpt-000000000002\/[^/]*manifest\.json/.test(p)) {
          // The manifest's file exists and its bytes are not written yet: another process reads now.
          readerCall = reader.latest().then((l) => l?.step ?? null);
          await (readerMoves === 'before the save returns' ? readerCall : Promise.race([reachedQuarantine, readerCall]));
        }
        return fh;
      }
    }
    const writer = await openStore(root, { fs: new ReaderRunsWhileTheManifestIsWritten(new PosixFileSystem(), 'reader-at-manifest'), durability: 'unsafe' });
    const saved = await writer.save(2, { tensors: sampleTensors(2), state: { step: 2 } }).then(
      () => 'committed',
      (e: unknown) => String(e),
    );
    saveReturned();
    assert.equal(await readerCall, 1, 'the reader ran mid-save and saw step 1');
    assert.equal(saved, 'committed');
    assert.deepEqual(moved, [], 'the reader quarantined nothing');
    const after = await openStore(root, { create: false });
    assert.equal((await after.restore()).step, 2, 'the step reported committed is the newest and restores');
  });
}
