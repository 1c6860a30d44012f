/**
 * Reads a whole file while hashing it, so verification and loading are one
 * pass over the bytes. Contract: the size is checked against the expected size
 * before any byte is read (a truncated or extended file fails fast, and a huge
 * planted file is never buffered); `sha256Hex` is SHA-256 of every byte of the
 * file, and `chunks` the SHA-256 of each chunk on the grid of the manifest's
 * `chunks` when those are given (same hash stream, same pass; the caller
 * compares); with chunks and `wholeFile: false` (a 2.1 file hash), only the
 * chunk digests are computed, each byte hashed once, and `sha256Hex` is the hex of the
 * hash derived from them (`chunkListHash`); with `keep` the bytes come back in one buffer (ordinary, non-shared
 * memory that the garbage collector accounts for and frees like any other, so
 * tensors can be views into it without another copy); a file that changes
 * size while being read is reported with the size actually readable and an
 * empty hash.
 *
 * The fast path: the file is cut into large block-aligned chunks read with
 * O_DIRECT, up to `depth` at a time, straight into the destination (kept
 * bytes) or into pool buffers (verification only); chunks go to the file's
 * hash stream on a worker in file order, each update posted as soon as the
 * chunk and the ones before it have arrived. Kept bytes are copied, 4 MiB at
 * a time, into small shared staging buffers for the worker (≈15 GB/s on the
 * dev VM, against 1.8 GB/s for the hash). The ragged tail (< one block) is
 * read through a second, buffered handle, because a short O_DIRECT read at
 * EOF cannot be continued at an unaligned offset. Where O_DIRECT is refused
 * (at open, or by a read), the whole file is read buffered.
 *
 * Why kept bytes are not shared memory: a worker that was once sent a
 * SharedArrayBuffer keeps the memory alive until its own garbage collection,
 * which almost never runs in a thread that allocates nothing, and the main
 * thread does not count shared or WebAssembly memory towards its GC trigger
 * either. Restores into shared memory therefore never gave their memory back
 * (measured: +1.5 GiB of RSS per gpt2-small restore, and the 4th restore in
 * one process at 0.59 GB/s against 1.27 GB/s now). A resizable ArrayBuffer
 * is reserved page-aligned by V8 (so O_DIRECT can fill it), is freed by the
 * GC, and is never sent to a worker: only the staging buffers are. The copy
 * costs a first restore in a fresh process up to 15% (1b: 1.59 → 1.35 GB/s).
 */
import { posix as pathPosix } from 'node:path';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import type { ChunkDigests } from '../format/manifest-types.js';
import { AlignedBufferPool, roundUp } from './aligned-memory.js';
import { isDirectRefusal } from './direct-io-support.js';
import { DEFAULT_DEPTH, DEFAULT_DIRECT_MIN_BYTES, type FileIoOptions, type IoMethod } from './io-options.js';
import { plainOffsetAt, type RecordCipherEnd, type RecordCipherSpec } from './record-cipher-stream.js';
import { HoldfastError } from '../errors.js';

export interface HashedRead {
  /** Size found on disk; differs from the expected size when the file was cut or extended. */
  sizeBytes: number;
  /** Empty when the size already disagreed (nothing was read). */
  sha256Hex: string;
  /**
   * The digests of each chunk on the grid of the expected `chunks`, when those were given and the
   * read got that far. A reader may stop at the first chunk that differs from the expected one:
   * then this list ends with it and `sha256Hex` is empty.
   */
  chunks?: ChunkDigests;
  /** The bytes, when `keep` was set and the size matched. */
  bytes?: Uint8Array;
  /** How the bytes were read (absent when nothing was read). */
  ioMethod?: IoMethod;
  /** Why the file was hashed on the calling thread instead of a worker (no worker could start). */
  hashFallbackReason?: string;
  /** With `decrypt`: the records were opened, so `bytes` and what `deliver` got are plaintext. */
  decrypted?: boolean;
  /** With `decrypt`: the first record that did not authenticate (the plaintext handed out is not to be used). */
  badRecord?: number;
}

export interface ReadHashedOptions extends FileIoOptions {
  keep: boolean;
  /** The manifest's chunk digests of the file (2.0): the read computes its own on their grid. */
  chunks?: ChunkDigests | undefined;
  /**
   * Whether the plain SHA-256 of the whole file is needed (default true): false when the recorded
   * hash is derived from the chunk digests (`needsWholeFileHash`). Ignored without `chunks`.
   */
  wholeFile?: boolean | undefined;
  /**
   * Without `keep`: handed each piece of the file (its offset and bytes) as soon as it is read, in
   * no particular order and before the file's hash is known, to copy out of the reused read buffer
   * (a restore into the caller's own arrays). The piece is only valid during the call.
   */
  deliver?: ((position: number, chunk: Uint8Array) => void) | undefined;
  /**
   * An encrypted file's records, opened in the same pass as the hash (`record-cipher-stream.ts`):
   * the kept bytes and the delivered pieces are then plaintext, at plaintext offsets.
   */
  decrypt?: RecordCipherSpec | undefined;
}

interface ReadFileHashedOptions extends ReadHashedOptions {
  /**
   * Buffers for reads when the bytes are not kept (default the runtime's `buffers`), or for the copies
   * that take kept bytes to the hashing worker (default the runtime's `hashStaging`).
   */
  pool?: AlignedBufferPool;
}
const MIN_CHUNK_BYTES = 1024 * 1024;
/** Reads of kept bytes go straight into their destination, 16 MiB at a time (the write path's size). */
const KEEP_CHUNK_BYTES = 16 * 1024 * 1024;

/** Largest resizable ArrayBuffer V8 (Node 20) reserves: 4 GiB. Larger kept files need plain memory. */
const MAX_KEPT_ALIGNED_BYTES = 2 ** 32;
/** `ArrayBuffer` with the ES2024 resizable-buffer constructor (in V8 since Node 20; not yet in our TS lib). */
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ArrayBuffer;

/**
 * `n` bytes of ordinary memory to keep a file in. Below 4 GiB a resizable ArrayBuffer (fixed at
 * `n`): V8 reserves its memory with the page allocator, so it starts page-aligned and O_DIRECT
 * can fill it, and it is accounted and freed by the GC like any ArrayBuffer. `direct` says whether
 * O_DIRECT may be tried (it is still checked: a refused read falls back to buffered).
 */
export function allocKeptBytes(n: number): { bytes: Uint8Array; direct: boolean } {
  if (n <= MAX_KEPT_ALIGNED_BYTES) {
    try {
      return { bytes: new Uint8Array(new ResizableArrayBuffer(n, { maxByteLength: n })), direct: true };
    } catch {
      // A runtime without resizable ArrayBuffers: plain memory, buffered reads.
    }
  }
  return { bytes: new Uint8Array(n), direct: false };
}

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
    options.runtime.directRefusals.reason(fs, dir) === undefined;
  let fh: FileHandle | undefined;
  let direct = false;
  if (wantDirect) {
    try {
      fh = await fs.open(path, 'read', { direct: true });
      direct = true;
    } catch (e) {
      if (!isDirectRefusal(e)) throw e;
      options.runtime.directRefusals.record(fs, dir, `O_DIRECT refused in ${dir}`);
    }
  }
  fh ??= await fs.open(path, 'read');
  try {
    const { sizeBytes } = await fh.stat();
    if (sizeBytes !== expectedSizeBytes) return { sizeBytes, sha256Hex: '' };
    if (!direct) return await readOpened(fs, path, fh, sizeBytes, false, options);
    try {
      return await readOpened(fs, path, fh, sizeBytes, true, options);
    } catch (e) {
      // O_DIRECT accepted at open but refused by the read itself (some FUSE and network file
      // systems, or memory the kernel will not take): read the file again, buffered.
      if (!isDirectRefusal(e)) throw e;
    }
    const buffered = await fs.open(path, 'read');
    try {
      return await readOpened(fs, path, buffered, sizeBytes, false, options);
    } finally {
      await buffered.close();
    }
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
  const hashers = options.runtime.hashers;
  const depth = Math.max(1, options.depth ?? DEFAULT_DEPTH);
  const align = fs.directIoAlignBytes;
  const kept = options.keep ? allocKeptBytes(sizeBytes) : undefined;
  if (kept !== undefined && !kept.direct) direct = false;
  const bytes = kept?.bytes;
  // Verification reads into pool buffers; kept bytes are read into their destination and pass
  // through small staging buffers only to reach the hashing worker.
  const pool = options.pool ?? (bytes === undefined ? options.runtime.buffers : options.runtime.hashStaging);
  const alignedEnd = direct ? sizeBytes - (sizeBytes % align) : sizeBytes;
  // A file smaller than `depth` chunks is cut into `depth` chunks (of at least 1 MiB), so its hash
  // can start after the first chunk instead of after the whole file: a read must finish before its
  // bytes are hashed, while a write and its hash run side by side.
  const maxChunk = bytes === undefined ? pool.bufferBytes : KEEP_CHUNK_BYTES;
  const chunkBytes = Math.min(maxChunk, Math.max(MIN_CHUNK_BYTES, roundUp(Math.ceil(sizeBytes / depth), align)));
  const decrypt = options.decrypt;
  const hash = hashers.open(sizeBytes, options.chunks?.bytes, options.wholeFile ?? true, decrypt);
  // Where the plaintext a piece of stored bytes gave goes: the same offset without a cipher.
  const plainAt = (stored: number): number => (decrypt === undefined ? stored : plainOffsetAt(decrypt.plainSize, decrypt.chunkBytes, stored));
  // `posted` resolves once this chunk's update has been posted (updates must be posted in file
  // order); the worker then hashes while later chunks are read and posted.
  let posted: Promise<void> = Promise.resolve();
  const inflight: Promise<void>[] = [];
  let failure: unknown;
  let short: number | undefined;
  let doneBytes = 0;

  const readChunk = (handle: FileHandle, position: number, length: number): void => {
    // Verification only: read into a pool buffer (`held`, released once the chunk settles, whatever
    // happens). Kept: read into the destination, then copy it piece by piece into staging buffers
    // for the worker, each released as soon as its piece is hashed.
    let held: Uint8Array | undefined;
    const scratch = bytes === undefined ? pool.acquire() : undefined;
    const read = (scratch ?? Promise.resolve(undefined)).then(async (buf) => {
      held = buf;
      const target = buf !== undefined ? buf.subarray(0, length) : bytes!.subarray(position, position + length);
      const n = await handle.pread(target, position, length);
      // Stored bytes go out as they are read; plaintext only once the worker has opened them.
      if (buf !== undefined && decrypt === undefined) options.deliver?.(position, target.subarray(0, n));
      return { buf, target, n };
    });
    const prev = posted;
    let hashedChunk: Promise<void> | undefined;
    const post = Promise.all([read, prev]).then(async ([{ buf, target, n }]) => {
      if (n < length) {
        short ??= position + n;
        return;
      }
      if (short !== undefined || failure !== undefined) return; // the file is already lost
      if (buf !== undefined) {
        hashedChunk = hash.update(target).then((out) => {
          if (decrypt !== undefined) options.deliver?.(plainAt(position), target.subarray(0, out));
        });
        return;
      }
      const pieces: Promise<void>[] = [];
      for (let off = 0; off < length; off += pool.bufferBytes) {
        const piece = target.subarray(off, Math.min(length, off + pool.bufferBytes));
        const stage = await pool.acquire();
        const view = stage.subarray(0, piece.byteLength);
        view.set(piece);
        // Plaintext lands below the piece's stored end, in bytes already staged: nothing unread is overwritten.
        const opened = (out: number): void => {
          if (decrypt !== undefined) bytes!.set(view.subarray(0, out), plainAt(position + off));
        };
        pieces.push(hash.update(view).then(opened).finally(() => pool.release(stage)));
      }
      hashedChunk = Promise.all(pieces).then(() => undefined);
    });
    posted = post.catch(() => undefined);
    const done = post
      .then(async () => {
        if (hashedChunk === undefined) return;
        await hashedChunk;
        doneBytes += length;
        options.onProgress?.(doneBytes, sizeBytes);
      })
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(() => {
        if (held !== undefined) pool.release(held);
      });
    inflight.push(done);
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
    const { sha256Hex, chunks, records } = await hash.digest();
    const read: HashedRead = { sizeBytes, sha256Hex, ioMethod: direct ? 'direct' : 'buffered' };
    if (chunks !== undefined) read.chunks = chunks;
    if (bytes !== undefined) read.bytes = decrypt === undefined ? bytes : bytes.subarray(0, decrypt.plainSize);
    if (hash.fallbackReason !== undefined) read.hashFallbackReason = hash.fallbackReason;
    if (decrypt !== undefined) Object.assign(read, openedRecords(path, records));
    return read;
  } catch (e) {
    await Promise.allSettled(inflight);
    hash.abort();
    throw e;
  }
}

/** What the records of a read that opened them say: all seen (a size that matched guarantees it), and the first bad one. */
export function openedRecords(path: string, records: RecordCipherEnd | undefined): Pick<HashedRead, 'decrypted' | 'badRecord'> {
  if (records === undefined || !records.complete) throw new HoldfastError('HF_IO', `${path}: the records of the file did not end with its last byte`, { path });
  return records.badRecord === undefined ? { decrypted: true } : { decrypted: true, badRecord: records.badRecord };
}

interface FileToRead {
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
  const concurrency = Math.max(1, options.concurrency ?? Math.max(1, options.runtime.hashers.size));
  const results: HashedRead[] = new Array(files.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await readFileHashed(fs, files[i]!.path, files[i]!.expectedSizeBytes, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, lane));
  return results;
}
