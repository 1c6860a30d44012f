/** C10: a misdirected write (a valid block from elsewhere); C11: a lost write (a block keeps the previous version). */
import { readAll, writeAt } from './file-edits.js';
import { alignedBlock, pick, previous, rel, shardFault, shardPath } from './targets.js';
import type { FaultVariant } from './variant.js';

export const MISDIRECTED_WRITES: readonly FaultVariant[] = [
  shardFault('misdirected-block/shard', 'C10', 'a 4 KiB block of a shard overwritten by a valid block from another offset or file', async (ctx, s, p) => {
    const f = ctx.fixture;
    const donorCkpt = pick(ctx.rng, f.checkpoints);
    const donor = pick(ctx.rng, donorCkpt.shards);
    const src = alignedBlock(ctx.rng, donor.sizeBytes, 4096);
    const dst = alignedBlock(ctx.rng, s.sizeBytes, 4096);
    const length = Math.min(src.length, dst.length);
    const block = (await readAll(ctx.fs, shardPath(donorCkpt, donor))).slice(src.offset, src.offset + length);
    const old = (await readAll(ctx.fs, p)).subarray(dst.offset, dst.offset + length);
    if (block.every((b, i) => b === old[i])) return undefined;
    await writeAt(ctx.fs, p, dst.offset, block);
    return { offset: dst.offset, length, detail: `block from ${rel(f, shardPath(donorCkpt, donor))}@${src.offset}` };
  }),
];

export const LOST_WRITES: readonly FaultVariant[] = [
  shardFault('lost-write/shard', 'C11', "one 4 KiB block of a shard reverted to the previous checkpoint's bytes at the same offset", async (ctx, s, p) => {
    const f = ctx.fixture;
    const from = shardPath(previous(f), s);
    const { offset, length } = alignedBlock(ctx.rng, s.sizeBytes, 4096);
    const block = (await readAll(ctx.fs, from)).slice(offset, offset + length);
    const old = (await readAll(ctx.fs, p)).subarray(offset, offset + length);
    if (block.length === 0 || block.every((b, i) => b === old[i])) return undefined;
    await writeAt(ctx.fs, p, offset, block);
    return { offset, length: block.length, detail: `block reverted to ${rel(f, from)}@${offset}` };
  }),
];
