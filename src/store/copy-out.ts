/**
 * Copies a checkpoint's files out to a directory of the caller's (`restore
 * --to`), so that a failure at any point leaves nothing a retry trips over:
 * each file is written under a temporary name beside its destination,
 * hashed as it is written, compared with the manifest, fsynced, and only
 * then renamed to its final name. A failure removes the temporary file and
 * every file this call already put in place. Existing files are never
 * overwritten (checked before anything is copied, and again before each
 * rename).
 */
import { posix as path } from 'node:path';
import { HoldfastError } from '../errors.js';
import type { ManifestFile } from '../format/manifest-types.js';
import { newNonce } from '../format/nonce.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { recordCount } from '../format/chunk-cipher.js';
import { needsWholeFileHash } from '../format/chunk-list-hash.js';
import { ChunkedSha256 } from '../io/file-digest.js';
import { openStoredRecords, storedRangeFor, type CheckpointOpener } from '../restore/decrypt-file.js';
import { ensureDirTree, statOrUndefined } from '../fs/file-utils.js';
import type { CheckpointReader } from '../storage/checkpoint-storage.js';

const CHUNK_BYTES = 8 * 1024 * 1024;

export async function copyOutVerified(fs: FileSystem, reader: CheckpointReader, files: readonly ManifestFile[], dest: string, opener?: CheckpointOpener): Promise<string[]> {
  for (const f of files) await refuseExisting(fs, path.join(dest, f.path));
  await ensureDirTree(fs, dest);
  const placed: string[] = [];
  try {
    for (const f of files) {
      const to = path.join(dest, f.path);
      await ensureDirTree(fs, path.dirname(to));
      await copyOne(fs, reader, f, to, reader.step, opener);
      placed.push(to);
    }
    await fs.syncDir(dest);
    return placed;
  } catch (e) {
    for (const p of placed) await fs.unlink(p).catch(() => undefined);
    throw e;
  }
}

/** Copies the stored bytes as they are; returns how many were read. */
async function copyBytes(reader: CheckpointReader, f: ManifestFile, out: FileHandle, hash: ChunkedSha256): Promise<number> {
  const chunk = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(f.size, 1)));
  let position = 0;
  while (position < f.size) {
    const n = await reader.readRange(f.path, position, chunk.subarray(0, Math.min(chunk.byteLength, f.size - position)));
    if (n === 0) break;
    const part = chunk.subarray(0, n);
    hash.update(part);
    await out.pwrite(part, position);
    position += n;
  }
  return position;
}

/**
 * An encrypted file: each stored record is hashed (the caller compares the whole file's hash before
 * the copy gets its name), opened and its plaintext written. Returns the stored bytes read.
 */
async function copyRecords(reader: CheckpointReader, f: ManifestFile, out: FileHandle, hash: ChunkedSha256, opener: CheckpointOpener): Promise<number> {
  const { plainSize } = f.encrypted!;
  const records = recordCount(plainSize, opener.encryption.chunkBytes);
  let position = 0;
  for (let i = 0; i < records; i++) {
    const { stored, plain } = storedRangeFor(opener, f, i * opener.encryption.chunkBytes, (i + 1) * opener.encryption.chunkBytes);
    const bytes = new Uint8Array(stored[1] - stored[0]);
    let got = 0;
    for (let n = -1; got < bytes.byteLength && n !== 0; got += n) n = await reader.readRange(f.path, stored[0] + got, bytes.subarray(got));
    hash.update(bytes.subarray(0, got));
    position += got;
    if (got < bytes.byteLength) break;
    await out.pwrite(await openStoredRecords(opener, f, [i, i + 1], bytes, stored[0]), plain[0]);
  }
  return position;
}

async function refuseExisting(fs: FileSystem, target: string): Promise<void> {
  if ((await statOrUndefined(fs, target)) !== undefined) {
    throw new HoldfastError('HF_IO', `${target} already exists; restore never overwrites files`, { path: target, data: { errno: 'EEXIST' } });
  }
}

async function copyOne(fs: FileSystem, reader: CheckpointReader, f: ManifestFile, to: string, step: number, opener: CheckpointOpener | undefined): Promise<void> {
  const tmp = path.join(path.dirname(to), `.${path.basename(to)}.${newNonce().slice(0, 12)}.partial`);
  const out = await fs.open(tmp, 'create');
  let closed = false;
  try {
    // The recorded hash's own form: a 2.1 file's is derived from its chunk digests (one hash per byte).
    const hash = new ChunkedSha256(f.chunks?.bytes, needsWholeFileHash(f));
    const position = f.encrypted !== undefined && opener !== undefined ? await copyRecords(reader, f, out, hash, opener) : await copyBytes(reader, f, out, hash);
    // Copy then re-check: the copy must carry exactly the verified bytes.
    if (position !== f.size || hash.digest().hash !== f.hash) {
      throw new HoldfastError('HF_CORRUPT', `${f.path} changed while being copied out of checkpoint ${step} (${reader.locate(f.path)})`, { path: to });
    }
    await out.sync();
    closed = true;
    await out.close();
    await refuseExisting(fs, to);
    await fs.rename(tmp, to);
  } catch (e) {
    if (!closed) await out.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
}
