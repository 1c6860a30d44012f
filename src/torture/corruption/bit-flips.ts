/** C1: one flipped bit, in each part of a shard, in the manifest, in SHA256SUMS. */
import { posix as path } from 'node:path';
import { SHA256SUMS_FILE } from '../../format/names.js';
import type { SeededRandom } from '../../fs/seeded-random.js';
import type { FixtureShard } from '../corrupt-fixture.js';
import { flipBit } from './file-edits.js';
import { between, detect, manifestFault, newest, onNewest, shardFault } from './targets.js';
import type { FaultVariant } from './variant.js';

type Region = (s: FixtureShard, rng: SeededRandom) => number;

function bitFlipShard(name: string, summary: string, region: Region): FaultVariant {
  return shardFault(`bit-flip/${name}`, 'C1', summary, async (ctx, s, p) => {
    const offset = region(s, ctx.rng);
    return { offset, length: 1, detail: await flipBit(ctx, p, offset) };
  });
}

export const BIT_FLIPS: readonly FaultVariant[] = [
  bitFlipShard('length-prefix', "one bit of a shard's 8-byte header length", (_s, rng) => rng.nextInt(8)),
  bitFlipShard('header-json', "one bit of a shard's JSON header", (s, rng) => between(rng, 8, s.jsonEnd)),
  bitFlipShard('header-padding', "one bit of a shard header's space padding", (s, rng) => between(rng, s.jsonEnd, s.dataStart)),
  bitFlipShard('tensor-data', 'one bit of tensor data', (s, rng) => between(rng, s.dataStart, s.sizeBytes)),
  manifestFault('bit-flip/manifest', 'C1', 'one bit of manifest.json', async (ctx, c, p) => {
    const offset = ctx.rng.nextInt(c.manifestBytes);
    return { offset, length: 1, detail: await flipBit(ctx, p, offset) };
  }),
];

export const SHA256SUMS_BIT_FLIP = detect(
  'bit-flip/sha256sums',
  'C1',
  'one bit of SHA256SUMS flipped: verify checks it against the manifest, so `sha256sum -c` and Holdfast never disagree',
  async (ctx) => {
    const c = newest(ctx.fixture);
    const p = path.join(c.dir, SHA256SUMS_FILE);
    const size = (await ctx.fs.stat(p)).sizeBytes;
    const offset = ctx.rng.nextInt(size);
    const detail = await flipBit(ctx, p, offset);
    return onNewest(ctx.fixture, p, offset, 1, detail);
  },
);
