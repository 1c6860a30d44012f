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

test('an unsafe save whose half-written manifest a reader quarantined is not reported committed', async (t) => {
  const root = tempDir(t);
  const { FileSystemWrapper } = await import('../../src/fs/file-system-wrapper.js');
  const { PosixFileSystem } = await import('../../src/fs/posix-file-system.js');
  const reader = await openStore(root);
  await reader.save(1, { tensors: sampleTensors(1), state: { step: 1 } });
  let readerSaw: number | null | undefined;
  class ReaderRunsAtManifestCreate extends FileSystemWrapper {
    override async open(p: string, mode: 'read' | 'create' | 'append' | 'write', options?: never) {
      const fh = await super.open(p, mode as never, options);
      // The manifest exists (empty) and its bytes are not written yet: another process reads now.
      if (mode === 'create' && p.endsWith('/ckpt-000000000002/manifest.json')) readerSaw = (await reader.latest())?.step ?? null;
      return fh;
    }
  }
  const writer = await openStore(root, { fs: new ReaderRunsAtManifestCreate(new PosixFileSystem(), 'reader-at-manifest'), durability: 'unsafe' });
  // `unsafe` gives readers no atomicity: the reader saw an empty manifest, took it for a torn
  // checkpoint and quarantined it. What must hold is that the save is not told "committed".
  await assert.rejects(writer.save(2, { tensors: sampleTensors(2), state: { step: 2 } }), { code: 'HF_ABORTED' });
  assert.equal(readerSaw, 1);
  assert.equal((await reader.latest())?.step, 1);
});
