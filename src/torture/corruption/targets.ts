/**
 * Picking what to damage, and the shapes most variants share: damage one
 * random shard, or the manifest, of the newest checkpoint, so that restore
 * must roll back to the one before. The helpers keep the order of the random
 * draws of the injectors they replaced (shard first, then the damage), so a
 * seed still injects the same fault.
 */
import { posix as path } from 'node:path';
import { MANIFEST_FILE } from '../../format/names.js';
import type { SeededRandom } from '../../fs/seeded-random.js';
import type { CorruptFixture, FixtureCheckpoint, FixtureShard } from '../corrupt-fixture.js';
import type { FaultContext, FaultVariant, InjectedFault } from './variant.js';

export const KIB = 1024;

export const newest = (f: CorruptFixture): FixtureCheckpoint => f.checkpoints[f.checkpoints.length - 1]!;
export const previous = (f: CorruptFixture): FixtureCheckpoint => f.checkpoints[f.checkpoints.length - 2]!;
export const oldest = (f: CorruptFixture): FixtureCheckpoint => f.checkpoints[0]!;
export const pick = <T>(rng: SeededRandom, items: readonly T[]): T => items[rng.nextInt(items.length)]!;
export const rel = (f: CorruptFixture, abs: string): string => path.relative(f.root, abs);
export const shardPath = (c: FixtureCheckpoint, s: FixtureShard): string => path.join(c.dir, s.name);
export const manifestPath = (c: FixtureCheckpoint): string => path.join(c.dir, MANIFEST_FILE);

/** Offset in [lo, hi). */
export const between = (rng: SeededRandom, lo: number, hi: number): number => lo + rng.nextInt(Math.max(1, hi - lo));

export function logUniformInt(rng: SeededRandom, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(Math.exp(Math.log(lo) + rng.nextFloat() * (Math.log(hi) - Math.log(lo))))));
}

/** An aligned block of `blockBytes` inside a file of `size` bytes: [offset, offset + length). */
export function alignedBlock(rng: SeededRandom, size: number, blockBytes: number): { offset: number; length: number } {
  const blocks = Math.ceil(size / blockBytes);
  const offset = rng.nextInt(blocks) * blockBytes;
  return { offset, length: Math.min(blockBytes, size - offset) };
}

export function randomShard(ctx: FaultContext): { c: FixtureCheckpoint; s: FixtureShard; p: string } {
  const c = newest(ctx.fixture);
  const s = pick(ctx.rng, c.shards);
  return { c, s, p: shardPath(c, s) };
}

/** The usual outcome: the newest checkpoint is damaged, restore must roll back to the one before. */
export function onNewest(f: CorruptFixture, file: string, offset: number, length: number, detail: string): InjectedFault {
  return { file: rel(f, file), offset, length, detail, damaged: [newest(f).step], expectedStep: previous(f).step };
}

/** Nothing is damaged: verify must stay quiet and restore return the newest. */
export function untouched(f: CorruptFixture, file: string, offset: number, length: number, detail: string): InjectedFault {
  return { file: rel(f, file), offset, length, detail, damaged: [], expectedStep: newest(f).step };
}

/** What a damage step did to the file it was given. */
interface Damage {
  offset: number;
  length: number;
  detail: string;
}

/** A variant that must be detected. */
export function detect(name: string, classId: string, summary: string, inject: FaultVariant['inject']): FaultVariant {
  return { name, classId, expectation: 'detect', summary, inject };
}

/** A change that must NOT be flagged (a false alarm otherwise). */
export function benign(name: string, summary: string, inject: FaultVariant['inject']): FaultVariant {
  return { name, classId: 'benign', expectation: 'benign', summary, inject };
}

/**
 * Damages one random shard of the newest checkpoint. `damage` may return
 * undefined (it changed nothing, e.g. zeroing a block that was zero): a
 * shard is then drawn again.
 */
export function shardFault(name: string, classId: string, summary: string, damage: (ctx: FaultContext, s: FixtureShard, p: string) => Promise<Damage | undefined>): FaultVariant {
  return detect(name, classId, summary, async (ctx) => {
    for (;;) {
      const { s, p } = randomShard(ctx);
      const d = await damage(ctx, s, p);
      if (d !== undefined) return onNewest(ctx.fixture, p, d.offset, d.length, d.detail);
    }
  });
}

/** Damages manifest.json of the newest checkpoint. */
export function manifestFault(name: string, classId: string, summary: string, damage: (ctx: FaultContext, c: FixtureCheckpoint, p: string) => Promise<Damage>): FaultVariant {
  return detect(name, classId, summary, async (ctx) => {
    const c = newest(ctx.fixture);
    const d = await damage(ctx, c, manifestPath(c));
    return onNewest(ctx.fixture, manifestPath(c), d.offset, d.length, d.detail);
  });
}

/** `bytes` random bytes as lowercase hex. */
export function randomHex(rng: SeededRandom, bytes: number): string {
  return Array.from(rng.fillBytes(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}
