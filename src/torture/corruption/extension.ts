/** C6: a file extended with junk. */
import { writeAt } from './file-edits.js';
import { KIB, logUniformInt, manifestFault, shardFault } from './targets.js';
import type { FaultVariant } from './variant.js';

export const EXTENSION: readonly FaultVariant[] = [
  shardFault('extend/shard', 'C6', '1 B – 1 MiB of random junk appended to a shard', async (ctx, s, p) => {
    const length = logUniformInt(ctx.rng, 1, 1024 * KIB);
    await writeAt(ctx.fs, p, s.sizeBytes, ctx.rng.fillBytes(new Uint8Array(length)));
    return { offset: s.sizeBytes, length, detail: `${length} bytes appended` };
  }),
  manifestFault('extend/manifest', 'C6', '1 B – 4 KiB of junk appended to manifest.json (not only whitespace)', async (ctx, c, p) => {
    const junk = ctx.rng.fillBytes(new Uint8Array(logUniformInt(ctx.rng, 1, 4 * KIB)));
    // Trailing whitespace is valid JSON, a benign variant of its own; junk starts with something else.
    junk[0] = 0x21 + ctx.rng.nextInt(0x5e);
    await writeAt(ctx.fs, p, c.manifestBytes, junk);
    return { offset: c.manifestBytes, length: junk.length, detail: `${junk.length} bytes appended` };
  }),
];
