/** Changes that must NOT be flagged (false-alarm checks). */
import { posix as path } from 'node:path';
import type { Manifest } from '../../format/manifest-types.js';
import { writeNewFile } from '../../fs/file-utils.js';
import { readByte, readManifest, writeAt, writeManifest } from './file-edits.js';
import { benign, manifestPath, newest, pick, randomShard, untouched } from './targets.js';
import type { FaultVariant } from './variant.js';

function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).reverse().map(([k, x]) => [k, reverseKeys(x)]));
}

export const BENIGN: readonly FaultVariant[] = [
  benign('benign/clean', 'nothing changed', async (ctx) => untouched(ctx.fixture, newest(ctx.fixture).dir, 0, 0, 'untouched')),
  benign('benign/manifest-reindented', 'manifest.json re-indented (compact, tabs or 4 spaces): manifestHash is over canonical JSON', async (ctx) => {
    const c = newest(ctx.fixture);
    const m = await readManifest(ctx.fs, c.dir);
    const indent = pick(ctx.rng, [0, '\t', 4]);
    await writeManifest(ctx.fs, c.dir, m, false, indent);
    return untouched(ctx.fixture, manifestPath(c), 0, 0, `indent ${JSON.stringify(indent)}`);
  }),
  benign('benign/manifest-keys-reordered', 'every object in manifest.json written with its keys in reverse order (arrays untouched)', async (ctx) => {
    const c = newest(ctx.fixture);
    await writeManifest(ctx.fs, c.dir, reverseKeys(await readManifest(ctx.fs, c.dir)) as Manifest, false);
    return untouched(ctx.fixture, manifestPath(c), 0, 0, 'keys reversed');
  }),
  benign('benign/manifest-trailing-whitespace', 'whitespace appended to manifest.json (still the same JSON document)', async (ctx) => {
    const c = newest(ctx.fixture);
    const ws = new TextEncoder().encode(pick(ctx.rng, ['\n', '\n\n', '  \n', '\t\r\n']));
    await writeAt(ctx.fs, manifestPath(c), c.manifestBytes, ws);
    return untouched(ctx.fixture, manifestPath(c), c.manifestBytes, ws.length, 'whitespace appended');
  }),
  benign('benign/extra-file-in-checkpoint', 'an unknown file added inside the checkpoint directory (Holdfast ignores files the manifest does not name)', async (ctx) => {
    const c = newest(ctx.fixture);
    const p = path.join(c.dir, pick(ctx.rng, ['notes.txt', 'r0000-p099.safetensors', '.DS_Store', 'optimizer.pt']));
    const bytes = ctx.rng.fillBytes(new Uint8Array(1 + ctx.rng.nextInt(8192)));
    await writeNewFile(ctx.fs, p, bytes, { sync: false });
    return untouched(ctx.fixture, p, 0, bytes.length, 'extra file');
  }),
  benign('benign/extra-entries-in-store', 'unknown files and non-checkpoint directories added to the store root (ckpt-latest, ckpt-12, README)', async (ctx) => {
    const f = ctx.fixture;
    const name = pick(ctx.rng, ['README.txt', 'ckpt-latest', 'ckpt-12', 'ckpt-000000000300.bak']);
    const p = path.join(f.root, name);
    if (name.startsWith('ckpt-')) await ctx.fs.mkdir(p);
    else await writeNewFile(ctx.fs, p, new TextEncoder().encode('notes\n'), { sync: false });
    return untouched(f, p, 0, 0, `added ${name}`);
  }),
  benign('benign/mtime-touched', 'a shard rewritten with its own bytes (mtime changes, content does not)', async (ctx) => {
    const { s, p } = randomShard(ctx);
    const offset = ctx.rng.nextInt(s.sizeBytes);
    await writeAt(ctx.fs, p, offset, await readByte(ctx.fs, p, offset));
    return untouched(ctx.fixture, p, offset, 1, 'same byte rewritten');
  }),
];
