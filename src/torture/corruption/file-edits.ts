/** The small `FileSystem` compositions the injectors damage files with. */
import { createHash } from 'node:crypto';
import { posix as path } from 'node:path';
import { computeManifestHash } from '../../format/manifest.js';
import type { Manifest, ManifestFile } from '../../format/manifest-types.js';
import { MANIFEST_FILE } from '../../format/names.js';
import type { FileSystem } from '../../fs/file-system.js';
import { readWholeFile, writeNewFile } from '../../fs/file-utils.js';
import { MemoryFileSystem } from '../../fs/memory-file-system.js';
import type { FixtureCheckpoint } from '../corrupt-fixture.js';
import type { FaultContext } from './variant.js';
import { formatHash } from '../../format/sha256.js';
import { CHUNK_LIST_ALGORITHM, chunkListHash } from '../../format/chunk-list-hash.js';

export async function writeAt(fs: FileSystem, p: string, offset: number, bytes: Uint8Array): Promise<void> {
  const fh = await fs.open(p, 'write');
  try {
    await fh.pwrite(bytes, offset);
  } finally {
    await fh.close();
  }
}

export async function readByte(fs: FileSystem, p: string, offset: number): Promise<Uint8Array> {
  const one = new Uint8Array(1);
  const fh = await fs.open(p, 'read');
  try {
    await fh.pread(one, offset);
  } finally {
    await fh.close();
  }
  return one;
}

export async function truncateTo(fs: FileSystem, p: string, sizeBytes: number): Promise<void> {
  const fh = await fs.open(p, 'write');
  try {
    await fh.truncate(sizeBytes);
  } finally {
    await fh.close();
  }
}

/** Replaces a file's contents as a new inode (unlink + create), as a copy tool would. */
export async function replaceFile(fs: FileSystem, p: string, bytes: Uint8Array): Promise<void> {
  await fs.unlink(p);
  await writeNewFile(fs, p, bytes, { sync: false });
}

export const readAll = (fs: FileSystem, p: string): Promise<Uint8Array> => readWholeFile(fs, p);

export async function readManifest(fs: FileSystem, dir: string): Promise<Manifest> {
  return JSON.parse(new TextDecoder().decode(await readAll(fs, path.join(dir, MANIFEST_FILE)))) as Manifest;
}

export async function writeManifest(fs: FileSystem, dir: string, m: Manifest, reseal: boolean, indent: string | number = 2): Promise<void> {
  if (reseal) m.manifestHash = computeManifestHash(m);
  await replaceFile(fs, path.join(dir, MANIFEST_FILE), new TextEncoder().encode(`${JSON.stringify(m, null, indent)}\n`));
}

export const sha256 = (bytes: Uint8Array): string => formatHash(createHash('sha256').update(bytes).digest('hex'));

/** Flips one random bit of the byte at `offset`; returns which. */
export async function flipBit(ctx: FaultContext, p: string, offset: number): Promise<string> {
  const bit = ctx.rng.nextInt(8);
  const one = await readByte(ctx.fs, p, offset);
  one[0] = one[0]! ^ (1 << bit);
  await writeAt(ctx.fs, p, offset, one);
  return `bit ${bit} of byte ${offset}`;
}

/** Overwrites `length` bytes with random ones, retrying until at least one byte differs. */
export async function overwriteRandom(ctx: FaultContext, p: string, offset: number, length: number): Promise<void> {
  const old = (await readAll(ctx.fs, p)).subarray(offset, offset + length);
  const junk = new Uint8Array(old.length);
  do ctx.rng.fillBytes(junk);
  while (junk.every((b, i) => b === old[i]));
  await writeAt(ctx.fs, p, offset, junk);
}

/** Zeroes [offset, offset + length); false if it already was zero (nothing changed). */
export async function zeroRange(ctx: FaultContext, p: string, offset: number, length: number): Promise<boolean> {
  const old = (await readAll(ctx.fs, p)).subarray(offset, offset + length);
  if (old.every((b) => b === 0)) return false;
  await writeAt(ctx.fs, p, offset, new Uint8Array(length));
  return true;
}

/** Copies `from` over `to` (a new inode with the same name). */
export async function copyOver(fs: FileSystem, from: string, to: string): Promise<number> {
  const bytes = await readAll(fs, from);
  await replaceFile(fs, to, bytes);
  return bytes.length;
}

/** Records a file's current size and hash in the manifest of `c` and reseals it. */
export async function rebindFile(fs: FileSystem, c: FixtureCheckpoint, name: string): Promise<void> {
  const bytes = await readAll(fs, path.join(c.dir, name));
  const m = await readManifest(fs, c.dir);
  const f = m.files.find((x) => x.path === name)!;
  f.size = bytes.length;
  bindDigests(f, bytes);
  await writeManifest(fs, c.dir, m, true);
}

export async function exchange(fs: FileSystem, a: string, b: string): Promise<void> {
  const tmp = `${a}.swap-tmp`;
  await fs.rename(a, tmp);
  await fs.rename(b, a);
  await fs.rename(tmp, b);
}

export function special(ctx: FaultContext): MemoryFileSystem {
  if (!(ctx.fs instanceof MemoryFileSystem)) throw new Error('symlink and FIFO faults need the in-memory file system (FileSystem cannot create them)');
  return ctx.fs;
}

/**
 * Records `bytes` as the file's content: its chunk digests (2.x) and its hash, in the form already
 * recorded (plain, or derived from the chunk digests in 2.1; a plain hash stays valid in 2.1).
 */
export function bindDigests(f: ManifestFile, bytes: Uint8Array): void {
  const plainHash = !f.hash.startsWith(`${CHUNK_LIST_ALGORITHM}:`);
  if (f.chunks !== undefined) {
    const sha: string[] = [];
    for (let at = 0; at < bytes.byteLength; at += f.chunks.bytes) sha.push(createHash('sha256').update(bytes.subarray(at, at + f.chunks.bytes)).digest('hex'));
    f.chunks = { bytes: f.chunks.bytes, sha256: sha };
  }
  f.hash = plainHash ? sha256(bytes) : chunkListHash(f.chunks!.sha256);
}
