/** C8: a stale copy from the previous checkpoint (a lost write of a whole file). */
import { copyOver, rebindFile } from './file-edits.js';
import { manifestFault, manifestPath, newest, previous, rel, shardFault, shardPath } from './targets.js';
import type { FaultVariant } from './variant.js';

export const STALE: readonly FaultVariant[] = [
  shardFault('stale/shard', 'C8', 'a shard replaced by the same-named shard of the previous checkpoint', async (ctx, s, p) => {
    const from = shardPath(previous(ctx.fixture), s);
    const length = await copyOver(ctx.fs, from, p);
    return { offset: 0, length, detail: `copied from ${rel(ctx.fixture, from)}` };
  }),
  {
    ...shardFault(
      'stale/shard+rehashed',
      'C8',
      "a shard replaced by the previous checkpoint's, and the manifest updated to its size and hash (only __metadata__ step/nonce can tell)",
      async (ctx, s, p) => {
        const from = shardPath(previous(ctx.fixture), s);
        const length = await copyOver(ctx.fs, from, p);
        await rebindFile(ctx.fs, newest(ctx.fixture), s.name);
        return { offset: 0, length, detail: `copied from ${rel(ctx.fixture, from)}, manifest rebound` };
      },
    ),
    refusedWhenEncrypted:
      "the stale shard's stored bytes match the rebound digests but its record was sealed under the previous file's nonce prefix: a record that authenticates nowhere though its digests match is HF_KEY by design (wrong key, or a rewrite with recomputed digests, which signing catches: manifest-edit/signed-state+resealed), never a quarantine",
  },
  manifestFault('stale/manifest', 'C8', "manifest.json replaced by the previous checkpoint's", async (ctx, _c, p) => {
    const from = manifestPath(previous(ctx.fixture));
    const length = await copyOver(ctx.fs, from, p);
    return { offset: 0, length, detail: `copied from ${rel(ctx.fixture, from)}` };
  }),
];
