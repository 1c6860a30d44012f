/**
 * C12: manifest field edits, with and without a recomputed manifestHash, and
 * edits of the manifest's bytes that JSON.parse alone would not see.
 */
import { READABLE_MAJOR_VERSIONS, type Manifest } from '../../format/manifest-types.js';
import type { SeededRandom } from '../../fs/seeded-random.js';
import { readAll, readManifest, replaceFile, writeAt, writeManifest } from './file-edits.js';
import { manifestFault, manifestPath, newest, onNewest, pick, randomHex } from './targets.js';
import type { FaultContext, FaultVariant } from './variant.js';
import type { FixtureCheckpoint } from '../corrupt-fixture.js';
import { formatHash } from '../../format/sha256.js';

type ManifestEdit = (m: Manifest, ctx: FaultContext) => string;

/** Each dtype's partner of the same element size (so sizes still add up). */
export const SAME_SIZE_DTYPE: Record<string, string> = { F32: 'I32', I32: 'F32', BF16: 'F16', F16: 'BF16', U8: 'I8', I8: 'U8', BOOL: 'U8', F64: 'I64', I64: 'F64', I16: 'F16' };

function tensorName(m: Manifest, rng: SeededRandom, filter: (name: string) => boolean = () => true): string {
  return pick(rng, Object.keys(m.tensors).filter(filter).sort());
}

/** A different shape with the same element count. */
export function otherShape(shape: number[]): number[] {
  if (shape.length === 2 && shape[0] !== shape[1]) return [shape[1]!, shape[0]!];
  const n = shape.reduce((a, b) => a * b, 1);
  return n % 2 === 0 && n > 0 ? [n / 2, 2] : [1, ...shape];
}

const MANIFEST_EDITS: Record<string, { summary: string; edit: ManifestEdit }> = {
  size: {
    summary: 'a file size in the manifest changed',
    edit: (m, { rng }) => {
      const f = pick(rng, m.files);
      const delta = (rng.nextBool() ? 1 : -1) * (1 + rng.nextInt(4096));
      f.size = Math.max(0, f.size + delta) === f.size ? f.size + 1 : Math.max(0, f.size + delta);
      return `files[${f.path}].size → ${f.size}`;
    },
  },
  hash: {
    summary: 'a file hash in the manifest replaced',
    edit: (m, { rng }) => {
      const f = pick(rng, m.files);
      f.hash = formatHash(randomHex(rng, 32));
      return `files[${f.path}].hash → ${f.hash.slice(0, 19)}…`;
    },
  },
  'byte-range': {
    summary: "a tensor's byte range (its offset in the shard) shifted",
    edit: (m, { rng }) => {
      const name = tensorName(m, rng, (n) => m.tensors[n]!.slabs[0]!.byteRange[1] > m.tensors[n]!.slabs[0]!.byteRange[0]);
      const slab = m.tensors[name]!.slabs[0]!;
      const shift = (rng.nextBool() ? 1 : -1) * 4 * (1 + rng.nextInt(8));
      slab.byteRange = [slab.byteRange[0] + shift, slab.byteRange[1] + shift];
      return `tensors[${name}].byteRange shifted by ${shift}`;
    },
  },
  dtype: {
    summary: "a tensor's dtype changed to another of the same element size",
    edit: (m, { rng }) => {
      const name = tensorName(m, rng);
      const t = m.tensors[name]!;
      const to = SAME_SIZE_DTYPE[t.dtype] ?? 'U8';
      const from = t.dtype;
      t.dtype = to as typeof t.dtype;
      return `tensors[${name}].dtype ${from} → ${to}`;
    },
  },
  shape: {
    summary: "a tensor's shape changed (same element count)",
    edit: (m, { rng }) => {
      const name = tensorName(m, rng);
      const t = m.tensors[name]!;
      t.shape = otherShape(t.shape);
      t.slabs[0] = { file: t.slabs[0]!.file, byteRange: t.slabs[0]!.byteRange, offset: t.shape.map(() => 0), shape: [...t.shape] };
      return `tensors[${name}].shape → [${t.shape.join(',')}]`;
    },
  },
  step: {
    summary: 'the step changed',
    edit: (m) => {
      m.step += 1;
      return `step → ${m.step}`;
    },
  },
  nonce: {
    summary: 'the nonce changed',
    edit: (m, { rng }) => {
      m.nonce = randomHex(rng, 16);
      return `nonce → ${m.nonce}`;
    },
  },
  version: {
    summary: 'the format major version bumped past what this build reads',
    edit: (m) => {
      m.version = `${Math.max(...READABLE_MAJOR_VERSIONS) + 1}.0`;
      return `version → ${m.version}`;
    },
  },
  path: {
    summary: 'a file renamed in the manifest (and in its slabs), not on disk',
    edit: (m, { rng }) => {
      const f = pick(rng, m.files.filter((x) => x.kind === 'shard'));
      const from = f.path;
      const to = `r0000-p9${String(rng.nextInt(100)).padStart(2, '0')}.safetensors`;
      f.path = to;
      for (const t of Object.values(m.tensors)) for (const s of t.slabs) if (s.file === from) s.file = to;
      return `files path ${from} → ${to}`;
    },
  },
  'drop-field': {
    summary: 'a required field removed',
    edit: (m, { rng }) => {
      const choice = rng.nextInt(4);
      const rec = m as unknown as Record<string, unknown>;
      if (choice === 0) {
        delete rec['world'];
        return 'world removed';
      }
      if (choice === 1) {
        const f = pick(rng, m.files) as unknown as Record<string, unknown>;
        delete f['rank'];
        return `files[${String(f['path'])}].rank removed`;
      }
      if (choice === 2) {
        const name = tensorName(m, rng);
        delete (m.tensors[name]!.slabs[0] as unknown as Record<string, unknown>)['byteRange'];
        return `tensors[${name}].slabs[0].byteRange removed`;
      }
      delete rec['createdAt'];
      return 'createdAt removed';
    },
  },
  state: {
    summary: 'a value in the training state changed',
    edit: (m, { rng }) => {
      const state = m.state as { optimizer: { lr: number } };
      state.optimizer.lr = state.optimizer.lr * (2 + rng.nextInt(8));
      return `state.optimizer.lr → ${state.optimizer.lr}`;
    },
  },
};

/** Resealed edits of what only the shard header also records: a reader must read the header (on an encrypted checkpoint, with the key) to catch them. */
const HEADER_CHECK_ONLY = ['byte-range', 'dtype', 'shape', 'nonce'];

function manifestEdit(field: string, reseal: boolean): FaultVariant {
  const { summary, edit } = MANIFEST_EDITS[field]!;
  const resealed = reseal ? 'recomputed to match (a consistent rewrite)' : 'left as it was';
  const headerCheckOnly = reseal && HEADER_CHECK_ONLY.includes(field) ? { headerCheckOnly: true } : {};
  const variant = manifestFault(`manifest-edit/${field}${reseal ? '+resealed' : ''}`, 'C12', `${summary}; manifestHash ${resealed}`, async (ctx, c) => {
    const m = await readManifest(ctx.fs, c.dir);
    const detail = edit(m, ctx);
    await writeManifest(ctx.fs, c.dir, m, reseal);
    return { offset: 0, length: 0, detail };
  });
  return { ...variant, ...headerCheckOnly };
}

export const MANIFEST_EDIT_VARIANTS: readonly FaultVariant[] = [
  manifestEdit('size', false),
  manifestEdit('size', true),
  manifestEdit('hash', false),
  manifestEdit('hash', true),
  manifestEdit('byte-range', false),
  manifestEdit('byte-range', true),
  manifestEdit('dtype', true),
  manifestEdit('shape', true),
  manifestEdit('step', true),
  manifestEdit('nonce', true),
  manifestEdit('version', true),
  manifestEdit('path', true),
  manifestEdit('drop-field', true),
  manifestEdit('state', false),
  manifestFault('manifest-edit/manifest-hash', 'C12', 'one hex digit of manifestHash itself changed', async (ctx, c) => {
    const m = await readManifest(ctx.fs, c.dir);
    const i = 7 + ctx.rng.nextInt(64);
    const digit = m.manifestHash[i]!;
    const hex = '0123456789abcdef';
    m.manifestHash = m.manifestHash.slice(0, i) + hex[(hex.indexOf(digit) + 1 + ctx.rng.nextInt(15)) % 16] + m.manifestHash.slice(i + 1);
    await writeManifest(ctx.fs, c.dir, m, false);
    return { offset: 0, length: 0, detail: `manifestHash digit ${i - 7} changed` };
  }),
  manifestFault('manifest-edit/duplicate-key', 'C12', 'a duplicate "step" key inserted (JSON.parse would silently keep the last)', async (ctx, c, p) => {
    const text = new TextDecoder().decode(await readAll(ctx.fs, p));
    const fake = c.step + 1 + ctx.rng.nextInt(1000);
    const at = text.lastIndexOf('}');
    const edited = `${text.slice(0, at).trimEnd()},\n  "step": ${fake}\n}\n`;
    await replaceFile(ctx.fs, p, new TextEncoder().encode(edited));
    return { offset: at, length: edited.length - at, detail: `second "step": ${fake} appended inside the object` };
  }),
  manifestFault('manifest-edit/invalid-utf8', 'C12', 'one byte of manifest.json replaced by an invalid UTF-8 byte', async (ctx, c, p) => {
    const offset = ctx.rng.nextInt(c.manifestBytes);
    const bad = pick(ctx.rng, [0xff, 0xfe, 0xc0, 0x80]);
    await writeAt(ctx.fs, p, offset, Uint8Array.of(bad));
    return { offset, length: 1, detail: `byte → 0x${bad.toString(16)}` };
  }),
];

/** Tampering, not corruption: SHA-256 is integrity, not authenticity. */
export const MANIFEST_STATE_RESEALED: FaultVariant = {
  name: 'manifest-edit/state+resealed',
  classId: 'C12',
  expectation: 'undetectable',
  summary: 'a training-state value changed and manifestHash recomputed: a consistent rewrite (tampering), which SHA-256 cannot tell from a save; needs a key (MANIFEST_STATE_RESEALED_SIGNED)',
  async inject(ctx) {
    const { detail, c } = await rewriteStateConsistently(ctx);
    return { ...onNewest(ctx.fixture, manifestPath(c), 0, 0, detail), expectedStep: c.step };
  },
};

/** The same consistent rewrite, read by a store holding the signing key: the signature no longer matches. */
export const MANIFEST_STATE_RESEALED_SIGNED: FaultVariant = {
  name: 'manifest-edit/signed-state+resealed',
  classId: 'C12',
  expectation: 'detect',
  verifiedWithKey: true,
  summary: 'the consistent rewrite above, read with the signing key: the HMAC over manifestHash no longer matches',
  async inject(ctx) {
    const { detail, c } = await rewriteStateConsistently(ctx);
    return onNewest(ctx.fixture, manifestPath(c), 0, 0, detail);
  },
};

async function rewriteStateConsistently(ctx: FaultContext): Promise<{ detail: string; c: FixtureCheckpoint }> {
  const c = newest(ctx.fixture);
  const m = await readManifest(ctx.fs, c.dir);
  const detail = MANIFEST_EDITS['state']!.edit(m, ctx);
  await writeManifest(ctx.fs, c.dir, m, true);
  return { detail, c };
}
