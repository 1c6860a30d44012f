/**
 * What people do without Holdfast, and the machine's own limits, measured
 * through the same FileSystem:
 * `one-file-per-tensor` (a buffered file per tensor, each fsynced, then the
 * directory: the "naive" TorchSnapshot-like layout seed 002 warns about) and
 * `single-file` (every tensor appended to one buffered file, then one fsync:
 * what `torch.save` + fsync does). Neither hashes, stages or renames, so
 * both are kinder to themselves than Holdfast is.
 */
import { posix as path } from 'node:path';
import { tensorBytes, type Tensor } from '../format/dtype.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { isDirectRefusal } from '../io/direct-io-support.js';
import type { HashWorkerPool } from '../io/hash-worker-pool.js';
import { DEFAULT_CHUNK_BYTES } from '../format/manifest-types.js';
import type { RecordCipherSpec } from '../io/record-cipher-stream.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import { allocKeptBytes } from '../io/read-file-hashed.js';

export async function writeOneFilePerTensor(fs: FileSystem, dir: string, tensors: Record<string, Tensor>): Promise<number> {
  await fs.mkdir(dir);
  let bytes = 0;
  let i = 0;
  for (const t of Object.values(tensors)) {
    const fh = await fs.open(path.join(dir, `t${i++}.bin`), 'create');
    try {
      const b = tensorBytes(t);
      await fh.pwrite(b, 0);
      await fh.sync();
      bytes += b.byteLength;
    } finally {
      await fh.close();
    }
  }
  await fs.syncDir(dir);
  return bytes;
}

export async function writeSingleFile(fs: FileSystem, file: string, tensors: Record<string, Tensor>): Promise<number> {
  const fh = await fs.open(file, 'create');
  let bytes = 0;
  try {
    for (const t of Object.values(tensors)) {
      const b = tensorBytes(t);
      await fh.pwrite(b, bytes);
      bytes += b.byteLength;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.syncDir(path.dirname(file));
  return bytes;
}

/**
 * The machine's own limits, below the disk's: what a restore into fresh memory and a save with
 * full SHA-256 cannot beat however the I/O is arranged. `touchFreshMemory` allocates the same
 * per-file buffers a restore does (see `allocKeptBytes`) and writes one byte per 4 KiB page, on
 * one thread, no I/O: the page-fault cost every restore into new memory pays. `readIntoFreshMemory`
 * reads the files with O_DIRECT into such fresh buffers, `concurrency` files at a time, hashing
 * nothing: a restore minus verification. `hashOnly` hashes `bytes` bytes of memory that is already
 * touched, split across `streams` streams on the hashing workers, no I/O.
 */
export function touchFreshMemory(sizes: readonly number[]): Uint8Array[] {
  const kept: Uint8Array[] = [];
  for (const n of sizes) {
    const { bytes } = allocKeptBytes(n);
    for (let k = 0; k < n; k += 4096) bytes[k] = 1;
    kept.push(bytes);
  }
  return kept;
}

export async function readIntoFreshMemory(fs: FileSystem, files: readonly { path: string; sizeBytes: number }[], concurrency: number): Promise<number> {
  const read = await mapConcurrent(files, concurrency, (f) => readFresh(fs, f.path, f.sizeBytes), { sizeOf: (f) => f.sizeBytes });
  return read.reduce((a, b) => a + b, 0);
}

/** One file into fresh memory: 16 MiB O_DIRECT reads, 4 in flight, the ragged tail buffered (as `readFileHashed` does). */
async function readFresh(fs: FileSystem, p: string, size: number): Promise<number> {
  const chunk = 16 * 1024 * 1024;
  const { bytes, direct: alignedMemory } = allocKeptBytes(size);
  let fh: FileHandle | undefined;
  if (alignedMemory && size >= fs.directIoAlignBytes) {
    try {
      fh = await fs.open(p, 'read', { direct: true });
    } catch (e) {
      if (!isDirectRefusal(e)) throw e;
    }
  }
  const alignedEnd = fh !== undefined ? size - (size % fs.directIoAlignBytes) : 0;
  let n = 0;
  if (fh !== undefined) {
    try {
      const reads: Promise<number>[] = [];
      for (let pos = 0; pos < alignedEnd; pos += chunk) {
        if (reads.length >= 4) n += await reads.shift()!;
        const len = Math.min(chunk, alignedEnd - pos);
        reads.push(fh.pread(bytes.subarray(pos, pos + len), pos, len));
      }
      for (const r of reads) n += await r;
    } finally {
      await fh.close();
    }
  }
  if (alignedEnd < size) {
    const rest = await fs.open(p, 'read');
    try {
      n += await rest.pread(bytes.subarray(alignedEnd), alignedEnd);
    } finally {
      await rest.close();
    }
  }
  return n;
}

export async function hashOnly(hashers: HashWorkerPool, memory: Uint8Array, bytes: number, streams: number, cipher?: (streamBytes: number) => RecordCipherSpec | undefined): Promise<void> {
  const chunk = Math.min(memory.byteLength, 16 * 1024 * 1024);
  const slots = Math.floor(memory.byteLength / chunk);
  const per = Math.ceil(bytes / streams);
  await Promise.all(
    Array.from({ length: streams }, async () => {
      const spec = cipher?.(per);
      const h = spec === undefined ? hashers.open(per) : hashers.open(per, DEFAULT_CHUNK_BYTES, false, spec);
      const updates: Promise<unknown>[] = [];
      for (let done = 0; done < per; done += chunk) {
        if (updates.length >= 4) await updates.shift();
        const off = (Math.floor(done / chunk) % slots) * chunk;
        updates.push(h.update(memory.subarray(off, off + Math.min(chunk, per - done))));
      }
      await Promise.all(updates);
      await h.digest();
    }),
  );
}
