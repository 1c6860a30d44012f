/** Every checkpoint damaged: restore must fail loudly (HF_NO_VALID_CHECKPOINT), not return anything. */
import { flipBit } from './file-edits.js';
import { between, pick, rel, shardPath } from './targets.js';
import type { FaultVariant } from './variant.js';

export const UNRECOVERABLE: FaultVariant = {
  name: 'unrecoverable/every-checkpoint',
  classId: 'unrecoverable',
  expectation: 'detect',
  summary: 'one bit of tensor data flipped in every checkpoint: restore must refuse (HF_NO_VALID_CHECKPOINT), not return anything',
  async inject(ctx) {
    const f = ctx.fixture;
    let first: { p: string; offset: number } | undefined;
    for (const c of f.checkpoints) {
      const s = pick(ctx.rng, c.shards);
      const offset = between(ctx.rng, s.dataStart, s.sizeBytes);
      await flipBit(ctx, shardPath(c, s), offset);
      first ??= { p: shardPath(c, s), offset };
    }
    return { file: rel(f, first!.p), offset: first!.offset, length: 1, detail: `one bit flipped in each of ${f.checkpoints.length} checkpoints`, damaged: f.checkpoints.map((c) => c.step), expectedStep: null };
  },
};
