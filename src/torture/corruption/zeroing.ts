/** C3: a zeroed sector or block (a latent sector error read back as zeros). */
import { zeroRange } from './file-edits.js';
import { alignedBlock, manifestFault, shardFault } from './targets.js';
import type { FaultVariant } from './variant.js';

function zeroedShardBlock(label: string, blockBytes: number): FaultVariant {
  return shardFault(`zeroed-${label}/shard`, 'C3', `an aligned ${blockBytes}-byte block of a shard set to zero`, async (ctx, s, p) => {
    const { offset, length } = alignedBlock(ctx.rng, s.sizeBytes, blockBytes);
    return (await zeroRange(ctx, p, offset, length)) ? { offset, length, detail: `zeroed [${offset}, ${offset + length})` } : undefined;
  });
}

export const ZEROING: readonly FaultVariant[] = [
  zeroedShardBlock('4k', 4096),
  zeroedShardBlock('512', 512),
  manifestFault('zeroed-4k/manifest', 'C3', 'the first 4 KiB block of manifest.json set to zero (the whole manifest, same size)', async (ctx, c, p) => {
    const length = Math.min(4096, c.manifestBytes);
    await zeroRange(ctx, p, 0, length);
    return { offset: 0, length, detail: `zeroed [0, ${length})` };
  }),
];
