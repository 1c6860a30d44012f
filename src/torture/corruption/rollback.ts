/** C15: whole-checkpoint rollback. */
import { posix as path } from 'node:path';
import { checkpointDirName } from '../../format/names.js';
import { removeTree } from '../../fs/file-utils.js';
import { detect, newest, onNewest, previous, rel } from './targets.js';
import type { FaultVariant } from './variant.js';

export const ROLLBACK: readonly FaultVariant[] = [
  detect('rollback/older-renamed-newer', 'C15', 'the previous checkpoint directory renamed to a newer step (its manifest still names the old step)', async (ctx) => {
    const f = ctx.fixture;
    const d = previous(f);
    const to = path.join(f.root, checkpointDirName(newest(f).step + 100));
    await ctx.fs.rename(d.dir, to);
    return { file: rel(f, to), offset: 0, length: 0, detail: `${rel(f, d.dir)} renamed to ${rel(f, to)}`, damaged: [newest(f).step + 100], expectedStep: newest(f).step };
  }),
  {
    name: 'rollback/newest-deleted',
    classId: 'C15',
    expectation: 'undetectable',
    summary: 'the newest checkpoint deleted whole: the store is a valid older store; only state kept outside (an external high-water mark) could tell',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      await removeTree(ctx.fs, c.dir);
      return onNewest(ctx.fixture, c.dir, 0, 0, 'directory removed');
    },
  },
];
