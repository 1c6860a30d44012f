/**
 * C13: shard header edits with the file's hash rebound in the manifest (a
 * consistent writer bug): only the header checks can catch them.
 */
import { shardPlaintext, shardStored, type FixtureCheckpoint, type FixtureShard } from '../corrupt-fixture.js';
import { bindDigests, readAll, readManifest, writeAt, writeManifest } from './file-edits.js';
import { SAME_SIZE_DTYPE, otherShape } from './manifest-edits.js';
import { newest, pick, randomHex, shardFault, shardPath } from './targets.js';
import type { FaultContext, FaultVariant } from './variant.js';

interface ParsedHeader {
  doc: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] } & Record<string, string | unknown>>;
  bytes: Uint8Array;
}

/** The shard's plaintext header; an encrypted shard is opened with the fixture key. */
async function readHeader(ctx: FaultContext, p: string, s: FixtureShard): Promise<ParsedHeader> {
  const m = await readManifest(ctx.fs, newest(ctx.fixture).dir);
  const bytes = shardPlaintext(m.files.find((f) => f.path === s.name)!, await readAll(ctx.fs, p), m.encryption?.chunkBytes);
  const json = new TextDecoder().decode(bytes.subarray(8, s.jsonEnd));
  return { doc: JSON.parse(json) as ParsedHeader['doc'], bytes };
}

/**
 * Writes `doc` back as the header (padded to the same length so the data
 * does not move), then records the file's new hash in the manifest and
 * reseals it: the header is now the only thing that disagrees. An encrypted
 * shard is sealed again with the fixture key (a writer bug that holds it),
 * so its records authenticate and only the header checks can tell.
 */
async function writeHeaderConsistently(ctx: FaultContext, c: FixtureCheckpoint, s: FixtureShard, h: ParsedHeader, lengthPrefix?: bigint): Promise<boolean> {
  const json = new TextEncoder().encode(JSON.stringify(h.doc));
  if (8 + json.length > s.dataStart) return false;
  const bytes = h.bytes.slice();
  bytes.fill(0x20, 8, s.dataStart);
  bytes.set(json, 8);
  if (lengthPrefix !== undefined) new DataView(bytes.buffer).setBigUint64(0, lengthPrefix, true);
  const m = await readManifest(ctx.fs, c.dir);
  const file = m.files.find((f) => f.path === s.name)!;
  const stored = shardStored(file, bytes);
  await writeAt(ctx.fs, shardPath(c, s), 0, file.encrypted === undefined ? bytes.subarray(0, s.dataStart) : stored);
  bindDigests(file, stored);
  await writeManifest(ctx.fs, c.dir, m, true);
  return true;
}

type HeaderEdit = (h: ParsedHeader, s: FixtureShard, ctx: FaultContext) => { detail: string; lengthPrefix?: bigint } | undefined;

const tensorKeys = (h: ParsedHeader): string[] => Object.keys(h.doc).filter((k) => k !== '__metadata__');

const HEADER_EDITS: Record<string, { summary: string; edit: HeaderEdit }> = {
  dtype: {
    summary: "a tensor's dtype in the shard header changed (same element size)",
    edit: (h, _s, { rng }) => {
      const k = pick(rng, tensorKeys(h));
      const e = h.doc[k]!;
      const from = String(e.dtype);
      e.dtype = SAME_SIZE_DTYPE[from] ?? 'U8';
      return { detail: `header ${k}.dtype ${from} → ${e.dtype}` };
    },
  },
  shape: {
    summary: "a tensor's shape in the shard header changed (same element count)",
    edit: (h, _s, { rng }) => {
      const k = pick(rng, tensorKeys(h));
      const e = h.doc[k]!;
      e.shape = otherShape(e.shape!);
      return { detail: `header ${k}.shape → [${e.shape.join(',')}]` };
    },
  },
  offsets: {
    summary: "a tensor's data_offsets in the shard header moved",
    edit: (h, _s, { rng }) => {
      const k = pick(rng, tensorKeys(h));
      const e = h.doc[k]!;
      const shift = 4 * (1 + rng.nextInt(8));
      e.data_offsets = [e.data_offsets![0] + shift, e.data_offsets![1] + shift];
      return { detail: `header ${k}.data_offsets shifted by ${shift}` };
    },
  },
  metadata: {
    summary: 'the holdfast.step or holdfast.nonce in the shard __metadata__ changed',
    edit: (h, _s, { rng }) => {
      const meta = h.doc['__metadata__'] as unknown as Record<string, string>;
      if (rng.nextBool()) {
        meta['holdfast.step'] = String(Number(meta['holdfast.step']) - 100);
        return { detail: `header __metadata__ holdfast.step → ${meta['holdfast.step']}` };
      }
      meta['holdfast.nonce'] = randomHex(rng, 16);
      return { detail: 'header __metadata__ holdfast.nonce replaced' };
    },
  },
  'length-prefix': {
    summary: 'the 8-byte header length changed (past the file end, or into the data)',
    edit: (_h, s, { rng }) => {
      const lengths = [BigInt(s.sizeBytes), BigInt(s.dataStart - 8 + 4 * (1 + rng.nextInt(64))), 2n ** 63n + BigInt(s.dataStart - 8), BigInt(s.jsonEnd - 8 - 1)];
      const lengthPrefix = pick(rng, lengths);
      return { detail: `header length → ${lengthPrefix}`, lengthPrefix };
    },
  },
};

function headerEdit(field: string): FaultVariant {
  const { summary, edit } = HEADER_EDITS[field]!;
  const why = "the manifest's hash for the file updated and resealed, so only header checks can catch it";
  return shardFault(`header-edit/${field}+rehashed`, 'C13', `${summary}; ${why}`, async (ctx, s, p) => {
    const h = await readHeader(ctx, p, s);
    const change = edit(h, s, ctx);
    if (change === undefined || !(await writeHeaderConsistently(ctx, newest(ctx.fixture), s, h, change.lengthPrefix))) return undefined;
    return { offset: 0, length: s.dataStart, detail: change.detail };
  });
}

export const HEADER_EDIT_VARIANTS: readonly FaultVariant[] = [headerEdit('dtype'), headerEdit('shape'), headerEdit('offsets'), headerEdit('metadata'), headerEdit('length-prefix')];
