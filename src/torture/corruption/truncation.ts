/** C5: a file cut short. */
import type { SeededRandom } from '../../fs/seeded-random.js';
import type { FixtureShard } from '../corrupt-fixture.js';
import { truncateTo } from './file-edits.js';
import { between, manifestFault, shardFault } from './targets.js';
import type { FaultVariant } from './variant.js';

function truncateShard(label: string, summary: string, to: (s: FixtureShard, rng: SeededRandom) => number): FaultVariant {
  return shardFault(`truncate/shard-${label}`, 'C5', summary, async (ctx, s, p) => {
    const size = to(s, ctx.rng);
    await truncateTo(ctx.fs, p, size);
    return { offset: size, length: s.sizeBytes - size, detail: `truncated ${s.sizeBytes} → ${size} bytes` };
  });
}

export const TRUNCATION: readonly FaultVariant[] = [
  truncateShard('to-zero', 'a shard truncated to 0 bytes', () => 0),
  truncateShard('random', 'a shard truncated to a random length', (s, rng) => between(rng, 1, s.sizeBytes)),
  truncateShard('4k-edge', 'a shard truncated to a 4 KiB boundary', (s, rng) => 4096 * rng.nextInt(Math.ceil(s.sizeBytes / 4096))),
  truncateShard('end-of-header', 'a shard truncated right after its header (all data gone)', (s) => s.dataStart),
  manifestFault('truncate/manifest', 'C5', 'manifest.json truncated to a random length (0 included)', async (ctx, c, p) => {
    const size = ctx.rng.nextInt(c.manifestBytes - 1);
    await truncateTo(ctx.fs, p, size);
    return { offset: size, length: c.manifestBytes - size, detail: `truncated ${c.manifestBytes} → ${size} bytes` };
  }),
];
