/** C9: shards swapped within one checkpoint or across two. */
import { copyOver, exchange, rebindFile } from './file-edits.js';
import { detect, newest, oldest, pick, previous, rel, shardFault, shardPath } from './targets.js';
import type { FaultVariant } from './variant.js';

export const SWAPS: readonly FaultVariant[] = [
  shardFault('swap/within', 'C9', 'two shards of one checkpoint exchanged (renames)', async (ctx, a, p) => {
    const c = newest(ctx.fixture);
    const b = pick(ctx.rng, c.shards.filter((x) => x !== a));
    await exchange(ctx.fs, p, shardPath(c, b));
    return { offset: 0, length: a.sizeBytes, detail: `exchanged with ${b.name}` };
  }),
  shardFault(
    'swap/within+rehashed',
    'C9',
    'two shards of one checkpoint exchanged and the manifest updated to their new sizes and hashes (only the header/tensor-list check can tell)',
    async (ctx, a, p) => {
      const c = newest(ctx.fixture);
      const b = pick(ctx.rng, c.shards.filter((x) => x !== a));
      await exchange(ctx.fs, p, shardPath(c, b));
      await rebindFile(ctx.fs, c, a.name);
      await rebindFile(ctx.fs, c, b.name);
      return { offset: 0, length: a.sizeBytes, detail: `exchanged with ${b.name}, manifest rebound` };
    },
  ),
  shardFault('swap/from-other-checkpoint', 'C9', 'a shard replaced by a differently named shard of an older checkpoint of the same run', async (ctx, s, p) => {
    const donor = pick(ctx.rng, [previous(ctx.fixture), oldest(ctx.fixture)]);
    const other = pick(ctx.rng, donor.shards.filter((x) => x.name !== s.name));
    const length = await copyOver(ctx.fs, shardPath(donor, other), p);
    return { offset: 0, length, detail: `replaced by ${rel(ctx.fixture, shardPath(donor, other))}` };
  }),
  detect(
    'swap/across-two-way',
    'C9',
    'a shard of the newest checkpoint exchanged with one of the previous (both damaged: restore must fall back two steps)',
    async (ctx) => {
      const f = ctx.fixture;
      const c = newest(f);
      const d = previous(f);
      const a = pick(ctx.rng, c.shards);
      const b = pick(ctx.rng, d.shards);
      await exchange(ctx.fs, shardPath(c, a), shardPath(d, b));
      return { file: rel(f, shardPath(c, a)), offset: 0, length: a.sizeBytes, detail: `exchanged with ${rel(f, shardPath(d, b))}`, damaged: [c.step, d.step], expectedStep: oldest(f).step };
    },
  ),
];
