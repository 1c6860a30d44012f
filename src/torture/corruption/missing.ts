/** C7: a file missing, or replaced by something that is not a regular file. */
import { special } from './file-edits.js';
import { manifestFault, shardFault } from './targets.js';
import type { FaultVariant } from './variant.js';

function shardReplacedBy(kind: 'directory' | 'symlink' | 'fifo'): FaultVariant {
  return shardFault(`not-a-file/shard-${kind}`, 'C7', `a shard replaced by a ${kind === 'fifo' ? 'FIFO' : kind}`, async (ctx, s, p) => {
    await ctx.fs.unlink(p);
    if (kind === 'directory') await ctx.fs.mkdir(p);
    else await special(ctx).createSpecial(p, kind === 'symlink' ? 'symlink' : 'other');
    return { offset: 0, length: s.sizeBytes, detail: `replaced by a ${kind}` };
  });
}

export const MISSING: readonly FaultVariant[] = [
  shardFault('missing/shard', 'C7', 'a shard file deleted', async (ctx, s, p) => {
    await ctx.fs.unlink(p);
    return { offset: 0, length: s.sizeBytes, detail: 'unlinked' };
  }),
  manifestFault('missing/manifest', 'C7', 'manifest.json deleted (the directory is then not a committed checkpoint at all)', async (ctx, c, p) => {
    await ctx.fs.unlink(p);
    return { offset: 0, length: c.manifestBytes, detail: 'unlinked' };
  }),
  shardReplacedBy('directory'),
  shardReplacedBy('symlink'),
  shardReplacedBy('fifo'),
  manifestFault('not-a-file/manifest-directory', 'C7', 'manifest.json replaced by a directory', async (ctx, c, p) => {
    await ctx.fs.unlink(p);
    await ctx.fs.mkdir(p);
    return { offset: 0, length: c.manifestBytes, detail: 'replaced by a directory' };
  }),
];
