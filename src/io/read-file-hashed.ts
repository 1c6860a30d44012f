/**
 * Reads a whole file while hashing it, so verification and loading are one
 * pass over the bytes. Contract: the size is checked against the expected size
 * before any byte is read (a truncated or extended file fails fast, and a huge
 * planted file is never buffered); `sha256Hex` is SHA-256 of every byte of the
 * file; with `keep` the bytes come back in one buffer (page-aligned shared
 * memory, so tensors can be views into it without another copy); a file that
 * changes size while being read is reported with the size actually readable
 * and an empty hash.
 *
 * The fast path: the file is cut into large block-aligned chunks read with
 * O_DIRECT, up to `depth` at a time, straight into the destination (or pool
 * buffers when the bytes are not kept); each chunk goes to the file's hash
 * stream on a worker as soon as it and the ones before it have arrived. The
 * ragged tail (< one block) is read through a second, buffered handle,
 * because a short O_DIRECT read at EOF cannot be continued at an unaligned
 * offset. Where O_DIRECT is refused, the same plan runs buffered.
 */
import { posix as pathPosix } from 'node:path';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { AlignedBufferPool, MAX_ALIGNED_BYTES, allocAligned, sharedAlignedBufferPool } from './aligned-memory.js';
import { directRefusal, isDirectRefusal, recordDirectRefusal } from './direct-io-support.js';
import { HashWorkerPool, sharedHashWorkerPool } from './hash-worker-pool.js';
import type { IoMethod, IoMethodChoice } from './write-file-parts.js';

export interface HashedRead {
  /** Size found on disk; differs from the expected size when the file was cut or extended. */
  sizeBytes: number;
  /** Empty when the size already disagreed (nothing was read). */
  sha256Hex: string;
  /** The bytes, when `keep` was set and the size matched. */
  bytes?: Uint8Array;
  /** How the bytes were read (absent when nothing was read). */
  ioMethod?: IoMethod;
}

export interface ReadFileHashedOptions {
  keep: boolean;
  /** Default `auto`: O_DIRECT for files of at least `directMinBytes` (1 MiB) where accepted. */
  ioMethod?: IoMethodChoice;
  directMinBytes?: number;
  /** Scratch buffers when the bytes are not kept; default the process-wide pool. */
  pool?: AlignedBufferPool;
  hashers?: HashWorkerPool;
  /** Chunk reads in flight per file, default 4. */
  depth?: number;
  /** Called as chunks are read and hashed. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const DEFAULT_DIRECT_MIN_BYTES = 1024 * 1024;
const DEFAULT_DEPTH = 4;
/** Without a pool (kept bytes), chunks of 16 MiB: the size the pool uses for writes. */
const KEEP_CHUNK_BYTES = 16 * 1024 * 1024;

export async function readFileHashed(
  fs: FileSystem,
  path: string,
  expectedSizeBytes: number,
  options: ReadFileHashedOptions,
): Promise<HashedRead> {
  const choice = options.ioMethod ?? 'auto';
  const dir = pathPosix.dirname(path);
  const wantDirect =
    choice !== 'buffered' &&
    expectedSizeBytes >= (choice === 'direct' ? fs.directIoAlignBytes : options.directMinBytes ?? DEFAULT_DIRECT_MIN_BYTES) &&
    directRefusal(fs, dir) === undefined;
  let fh: FileHandle | undefined;
  let direct = false;
  if (wantDirect) {
    try {
      fh = await fs.open(path, 'read', { direct: true });
      direct = true;
    } catch (e) {
      if (!isDirectRefusal(e)) throw e;
      recordDirectRefusal(fs, dir, `O_DIRECT refused in ${dir}`);
    }
  }
  fh ??= await fs.open(path, 'read');
  try {
    const { sizeBytes } = await fh.stat();
    if (sizeBytes !== expectedSizeBytes) return { sizeBytes, sha256Hex: '' };
    return await readOpened(fs, path, fh, sizeBytes, direct, options);
  } finally {
    await fh.close();
  }
}

async function readOpened(
  fs: FileSystem,
  path: string,
  fh: FileHandle,
  sizeBytes: number,
  direct: boolean,
  options: ReadFileHashedOptions,
): Promise<HashedRead> {
  const hashers = options.hashers ?? sharedHashWorkerPool();
  const pool = options.keep ? undefined : options.pool ?? sharedAlignedBufferPool();
  const depth = Math.max(1, options.depth ?? DEFAULT_DEPTH);
  const align = fs.directIoAlignBytes;
  const alignedEnd = direct ? sizeBytes - (sizeBytes % align) : sizeBytes;
  // Kept bytes land in aligned shared memory when they fit one WebAssembly.Memory, so O_DIRECT can
  // fill it and workers can hash it in place; past 4 GiB, plain memory and buffered reads.
  const keepAligned = options.keep && sizeBytes <= MAX_ALIGNED_BYTES;
  if (options.keep && !keepAligned) direct = false;
  const bytes = options.keep ? (keepAligned ? allocAligned(sizeBytes) : new Uint8Array(sizeBytes)) : undefined;
  const chunkBytes = pool?.bufferBytes ?? KEEP_CHUNK_BYTES;
  const hash = hashers.open(sizeBytes);
  let hashed: Promise<void> = Promise.resolve();
  const inflight: Promise<void>[] = [];
  let failure: unknown;
  let short: number | undefined;
  let doneBytes = 0;

  const readChunk = (handle: FileHandle, position: number, length: number): void => {
    const scratch = pool ? pool.acquire() : Promise.resolve(undefined);
    const read = scratch.then(async (buf) => {
      const target = buf ? buf.subarray(0, length) : bytes!.subarray(position, position + length);
      const n = await handle.pread(target, position, length);
      return { buf, target, n };
    });
    // Hash in file order: this chunk's update is posted only after the previous chunk's was.
    const prev = hashed;
    const done = Promise.all([read, prev]).then(async ([{ buf, target, n }]) => {
      try {
        if (n < length) {
          short ??= position + n;
          return;
        }
        await hash.update(target);
        doneBytes += length;
        options.onProgress?.(doneBytes, sizeBytes);
      } finally {
        if (buf) pool!.release(buf);
      }
    });
    hashed = done.catch(() => undefined);
    inflight.push(
      done.catch((e: unknown) => {
        failure ??= e;
      }),
    );
  };

  try {
    for (let position = 0; position < alignedEnd && failure === undefined && short === undefined; position += chunkBytes) {
      while (inflight.length >= depth) await inflight.shift();
      readChunk(fh, position, Math.min(chunkBytes, alignedEnd - position));
    }
    if (alignedEnd < sizeBytes && failure === undefined && short === undefined) {
      const tail = await fs.open(path, 'read');
      try {
        readChunk(tail, alignedEnd, sizeBytes - alignedEnd);
        await Promise.all(inflight);
      } finally {
        await tail.close();
      }
    }
    await Promise.all(inflight);
    if (failure !== undefined) throw failure;
    if (short !== undefined) {
      hash.abort();
      return { sizeBytes: short, sha256Hex: '' };
    }
    const sha256Hex = await hash.digest();
    const ioMethod: IoMethod = direct ? 'direct' : 'buffered';
    return bytes ? { sizeBytes, sha256Hex, bytes, ioMethod } : { sizeBytes, sha256Hex, ioMethod };
  } catch (e) {
    hash.abort();
    throw e;
  }
}

export interface FileToRead {
  path: string;
  expectedSizeBytes: number;
}

/**
 * Reads and hashes several files at once, `concurrency` files at a time
 * (default: one per hashing worker, since one file's hash is sequential).
 * Results are in the order of `files`.
 */
export async function readFilesHashed(
  fs: FileSystem,
  files: readonly FileToRead[],
  options: ReadFileHashedOptions & { concurrency?: number },
): Promise<HashedRead[]> {
  const hashers = options.hashers ?? sharedHashWorkerPool();
  const concurrency = Math.max(1, options.concurrency ?? Math.max(1, hashers.size));
  const results: HashedRead[] = new Array(files.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await readFileHashed(fs, files[i]!.path, files[i]!.expectedSizeBytes, { ...options, hashers });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, lane));
  return results;
}
