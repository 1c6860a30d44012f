/**
 * A byte range of a checkpoint file, verified before a byte of it is
 * returned (DESIGN promise 2, for partial reads). The range is widened to the
 * file's chunk grid and read through `CheckpointReader.readRange` (a pread
 * locally, a ranged GET on S3); every chunk is SHA-256-checked against the
 * manifest's digest, which the manifest hash covers (on the runtime's
 * hashing workers, in parallel). A 1.0 file has only its
 * whole-file hash, so the whole file is read and hashed once (ask once per
 * file: the planner does). Failures are values (`FileProblem`), as in
 * verify-checkpoint.ts, so the caller quarantines and rolls back as a full
 * restore does.
 */
import { isHoldfastError } from '../errors.js';
import type { ManifestFile } from '../format/manifest-types.js';
import { parseHash } from '../format/sha256.js';
import type { FileProblem } from '../format/vocabulary.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { CheckpointReader } from '../storage/checkpoint-storage.js';
import { widenToChunkGrid } from './chunk-grid.js';

/** Verified bytes [start, start + bytes.byteLength) of a file. */
export interface VerifiedBytes {
  start: number;
  bytes: Uint8Array;
}

export async function readVerifiedRange(reader: CheckpointReader, file: ManifestFile, begin: number, end: number, io: IoRuntime): Promise<VerifiedBytes | FileProblem> {
  try {
    if (file.chunks === undefined) return await readWholeVerified(reader, file, io);
    const [start, stop] = widenToChunkGrid(file, begin, end);
    const bytes = new Uint8Array(stop - start);
    const got = await readFully(reader, file.path, start, bytes);
    if (got < bytes.byteLength) return shortFile(reader, file, start + got);
    return (await chunkMismatch(reader, file, start, bytes, io)) ?? { start, bytes };
  } catch (e) {
    // Retention in another process may remove the checkpoint under us: missing, not an I/O failure.
    if (!isHoldfastError(e, 'HF_NOT_FOUND')) throw e;
    return { file: file.path, reason: 'missing', message: `${reader.locate(file.path)}: file vanished while being read` };
  }
}

/** Fills `into` from `offset` (readers may return fewer bytes than asked); returns the bytes read, short only at the end of the file. */
async function readFully(reader: CheckpointReader, name: string, offset: number, into: Uint8Array): Promise<number> {
  let done = 0;
  while (done < into.byteLength) {
    const n = await reader.readRange(name, offset + done, into.subarray(done));
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** The first chunk whose SHA-256 differs from the manifest's; chunks hash in parallel on the runtime's workers (small ones inline). */
async function chunkMismatch(reader: CheckpointReader, file: ManifestFile, start: number, bytes: Uint8Array, io: IoRuntime): Promise<FileProblem | undefined> {
  const { bytes: chunkBytes, sha256 } = file.chunks!;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) chunks.push(bytes.subarray(at, Math.min(at + chunkBytes, bytes.byteLength)));
  const digests = await Promise.all(chunks.map((chunk) => hashOf(chunk, io)));
  const bad = digests.findIndex((actual, i) => actual !== sha256[start / chunkBytes + i]);
  if (bad < 0) return undefined;
  const index = start / chunkBytes + bad;
  const expected = sha256[index]!;
  const actual = digests[bad]!;
  const where = `bytes [${index * chunkBytes}, ${Math.min((index + 1) * chunkBytes, file.size)})`;
  return { file: file.path, reason: 'hash', message: `${reader.locate(file.path)}: chunk ${index} (${where}) SHA-256 mismatch: recorded ${expected}, computed ${actual}`, expected, actual };
}

async function hashOf(bytes: Uint8Array, io: IoRuntime): Promise<string> {
  const stream = io.hashers.open(bytes.byteLength);
  try {
    await stream.update(bytes);
    return (await stream.digest()).sha256Hex;
  } catch (e) {
    stream.abort();
    throw e;
  }
}

async function readWholeVerified(reader: CheckpointReader, file: ManifestFile, io: IoRuntime): Promise<VerifiedBytes | FileProblem> {
  const read = await reader.readHashed(file.path, file.size, { keep: true, runtime: io });
  if (read.sizeBytes !== file.size) return shortFile(reader, file, read.sizeBytes);
  const p = reader.locate(file.path);
  const expected = parseHash(file.hash, p).hex;
  if (read.sha256Hex !== expected) return { file: file.path, reason: 'hash', message: `${p}: SHA-256 mismatch: recorded ${expected}, computed ${read.sha256Hex}`, expected, actual: read.sha256Hex };
  return { start: 0, bytes: read.bytes ?? new Uint8Array(0) };
}

function shortFile(reader: CheckpointReader, file: ManifestFile, actual: number): FileProblem {
  return { file: file.path, reason: 'size', message: `${reader.locate(file.path)}: file ends at byte ${actual}, manifest records ${file.size} bytes`, expected: file.size, actual };
}
