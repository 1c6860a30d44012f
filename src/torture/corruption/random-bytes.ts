/** C2: a burst of 2–64 random bytes; C4: a whole sector of random garbage. */
import { overwriteRandom } from './file-edits.js';
import { alignedBlock, manifestFault, shardFault } from './targets.js';
import type { FaultVariant } from './variant.js';

export const BURSTS: readonly FaultVariant[] = [
  shardFault('burst/shard', 'C2', '2–64 bytes of a shard overwritten with random bytes', async (ctx, s, p) => {
    const length = 2 + ctx.rng.nextInt(63);
    const offset = ctx.rng.nextInt(s.sizeBytes - length + 1);
    await overwriteRandom(ctx, p, offset, length);
    return { offset, length, detail: `${length} random bytes` };
  }),
  manifestFault('burst/manifest', 'C2', '2–64 bytes of manifest.json overwritten with random bytes', async (ctx, c, p) => {
    const length = 2 + ctx.rng.nextInt(63);
    const offset = ctx.rng.nextInt(c.manifestBytes - length + 1);
    await overwriteRandom(ctx, p, offset, length);
    return { offset, length, detail: `${length} random bytes` };
  }),
];

export const GARBAGE_SECTORS: readonly FaultVariant[] = [
  shardFault('garbage-sector/shard', 'C4', 'an aligned 512 B or 4 KiB block of a shard filled with random bytes', async (ctx, s, p) => {
    const blockBytes = ctx.rng.nextBool() ? 512 : 4096;
    const { offset, length } = alignedBlock(ctx.rng, s.sizeBytes, blockBytes);
    await overwriteRandom(ctx, p, offset, length);
    return { offset, length, detail: `${blockBytes}-byte sector of garbage` };
  }),
];
