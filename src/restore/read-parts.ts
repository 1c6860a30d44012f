/**
 * Carries out a resharding plan on one checkpoint: checks that each file to
 * be read is there at its recorded size, reads the planned ranges (several in
 * flight: parallel preads locally, ranged GETs on S3), verifies every chunk of
 * a range before any of its bytes is copied, and scatters them into the
 * parts' buffers (the caller's, or new typed arrays). A failed check is
 * returned as the `FileProblem` that disqualifies the checkpoint; bytes
 * already copied into a caller's buffer are then meaningless, and the next
 * checkpoint tried overwrites every byte of every part.
 */
import { assertBoolBytes, typedArrayFor, type Tensor, type TensorData } from '../format/dtype.js';
import type { Manifest, ManifestFile } from '../format/manifest-types.js';
import { defineEntry } from '../format/define-entry.js';
import type { IoRuntime } from '../io/io-runtime.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import type { CheckpointReader } from '../storage/checkpoint-storage.js';
import type { Examined } from './find-valid.js';
import { planReshard, type PlannedCopy, type PlannedRead } from './plan-reshard.js';
import { readVerifiedRange, type VerifiedBytes } from './read-verified-range.js';
import { openStoredRecords, storedRangeFor, type CheckpointOpener } from './decrypt-file.js';
import type { FileProblem } from '../format/vocabulary.js';
import type { RestoreLayout } from './tensor-part.js';
import { presenceProblem } from './verify-checkpoint.js';

/** Ranges read (and hashed) at once: enough to keep a ranged GET's latency off the critical path. */
const READS_IN_FLIGHT = 4;
/** Reads are cut into pieces of at most this many bytes (whole chunks), which bounds the memory in flight. */
const PIECE_BYTES = 32 * 1024 * 1024;

export interface ReadPartsOptions {
  io: IoRuntime;
  /** Buffers to fill, by tensor name; other parts get new typed arrays. */
  into?: Readonly<Record<string, TensorData>> | undefined;
  /** See `PlanOptions.gapBytes`. */
  gapBytes?: number;
  /** An encrypted checkpoint's key: its ranges are read as whole stored records, verified, then opened. */
  opener?: CheckpointOpener | undefined;
}

/** The parts of `layout` (already checked with `assertLayoutServable`), or the problem that disqualifies the checkpoint. */
export async function readParts(reader: CheckpointReader, manifest: Manifest, layout: RestoreLayout, options: ReadPartsOptions): Promise<Examined<Record<string, Tensor>>> {
  const plan = planReshard(manifest, layout, { gapBytes: options.gapBytes ?? 0 });
  const files = new Map(manifest.files.map((f) => [f.path, f]));
  const toRead = [...new Set(plan.reads.map((r) => r.file))];
  const absent = (await mapConcurrent(toRead, READS_IN_FLIGHT, (path) => presenceProblem(reader, files.get(path)!))).find((p) => p !== undefined);
  if (absent !== undefined) return { ok: false, problem: absent };
  const data = plan.parts.map((p) => options.into?.[p.name] ?? typedArrayFor(p.dtype, new Uint8Array(p.byteLength)));
  const targets = data.map((d) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  const pieces = plan.reads.flatMap((r) => cutIntoPieces(r, files.get(r.file)!));
  const problems = await mapConcurrent(
    pieces,
    READS_IN_FLIGHT,
    async (piece) => {
      const file = files.get(piece.file)!;
      const got = file.encrypted === undefined || options.opener === undefined ? await readVerifiedRange(reader, file, piece.begin, piece.end, options.io) : await readOpenedRange(reader, file, piece.begin, piece.end, options.io, options.opener);
      if ('reason' in got) return got;
      scatter(got, piece.file, plan.copies, targets);
      return undefined;
    },
    { stopWhen: (problem) => problem !== undefined },
  );
  const problem = problems.find((p) => p !== undefined);
  if (problem !== undefined) return { ok: false, problem };
  const tensors: Record<string, Tensor> = {};
  plan.parts.forEach((p, i) => {
    // Verified bytes can still be a BOOL other than 0/1 if an older or foreign writer stored them.
    if (p.dtype === 'BOOL') assertBoolBytes(p.name, targets[i]!, 'HF_FORMAT', reader.location);
    defineEntry(tensors, p.name, { dtype: p.dtype, shape: p.shape, data: data[i]! });
  });
  return { ok: true, value: tensors, manifest };
}

/**
 * Plaintext [begin, end) of an encrypted file: the stored records holding it, verified against the
 * stored chunk digests (a damaged record is a problem, as for a plain file), then opened (a verified
 * record that does not open is HF_KEY, thrown). The two grids differ (records are chunk + 16 bytes),
 * so the verified range may reach into neighbouring records; only whole records are opened.
 */
async function readOpenedRange(reader: CheckpointReader, file: ManifestFile, begin: number, end: number, io: IoRuntime, opener: CheckpointOpener): Promise<VerifiedBytes | FileProblem> {
  const { stored, plain, records } = storedRangeFor(opener, file, begin, end);
  if (records[0] === records[1]) return { start: begin, bytes: new Uint8Array(0) };
  const got = await readVerifiedRange(reader, file, stored[0], stored[1], io);
  if ('reason' in got) return got;
  const held = got.bytes.subarray(stored[0] - got.start, stored[1] - got.start);
  return { start: plain[0], bytes: await openStoredRecords(opener, file, records, held, stored[0]) };
}

/** A chunk-aligned read as pieces of whole chunks; a file without chunk digests is read whole, in one piece. */
function cutIntoPieces(read: PlannedRead, file: ManifestFile): PlannedRead[] {
  if (file.chunks === undefined) return [read];
  const step = Math.max(1, Math.floor(PIECE_BYTES / file.chunks.bytes)) * file.chunks.bytes;
  const pieces: PlannedRead[] = [];
  for (let at = read.begin; at < read.end; at += step) pieces.push({ file: read.file, begin: at, end: Math.min(at + step, read.end) });
  return pieces;
}

/** Copies the part of every copy of `file` that lies in `got`; copies are sorted by file and source offset. */
function scatter(got: VerifiedBytes, file: string, copies: readonly PlannedCopy[], targets: readonly Uint8Array[]): void {
  const end = got.start + got.bytes.byteLength;
  for (let i = firstCopyEndingAfter(copies, file, got.start); i < copies.length; i++) {
    const c = copies[i]!;
    if (c.file !== file || c.src >= end) break;
    const from = Math.max(c.src, got.start);
    const to = Math.min(c.src + c.bytes, end);
    targets[c.part]!.set(got.bytes.subarray(from - got.start, to - got.start), c.dst + (from - c.src));
  }
}

/** Binary search: the first copy of `file` whose source range ends after `offset`. */
function firstCopyEndingAfter(copies: readonly PlannedCopy[], file: string, offset: number): number {
  let lo = 0;
  let hi = copies.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = copies[mid]!;
    const before = c.file < file || (c.file === file && c.src + c.bytes <= offset);
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
