/** Test-only edits of committed checkpoints: flip bits, rewrite manifests (re-sealed so only the targeted check can fire). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeManifestHash } from '../../src/format/manifest.js';
import type { Manifest, ManifestFile } from '../../src/format/manifest-types.js';
import { createHash } from 'node:crypto';
import { chunkListHash } from '../../src/format/chunk-list-hash.js';

export function flipBit(file: string, offset: number, bit = 0): void {
  const b = readFileSync(file);
  b[offset] = b[offset]! ^ (1 << bit);
  writeFileSync(file, b);
}

export function readManifest(ckptDir: string): Manifest {
  return JSON.parse(readFileSync(join(ckptDir, 'manifest.json'), 'utf8')) as Manifest;
}

/** Applies `edit` to the manifest, recomputes manifestHash, writes it back. */
export function rewriteManifest(ckptDir: string, edit: (m: Manifest) => void, reseal = true): void {
  const m = readManifest(ckptDir);
  edit(m);
  if (reseal) m.manifestHash = computeManifestHash(m);
  writeFileSync(join(ckptDir, 'manifest.json'), JSON.stringify(m, null, 2));
}

/**
 * Records `bytes` as a file's content in its manifest entry: size, (2.x) chunk digests and its
 * hash, in the form already recorded (plain SHA-256, or 2.1's hash of the chunk digests).
 */
export function bindFile(f: ManifestFile, bytes: Uint8Array): void {
  const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  f.size = bytes.byteLength;
  const plain = !f.hash.startsWith('sha256-chunks:');
  if (f.chunks !== undefined) {
    const sha256: string[] = [];
    for (let at = 0; at < bytes.byteLength; at += f.chunks.bytes) sha256.push(hex(bytes.subarray(at, at + f.chunks.bytes)));
    f.chunks = { bytes: f.chunks.bytes, sha256 };
  }
  f.hash = plain ? `sha256:${hex(bytes)}` : chunkListHash(f.chunks!.sha256);
}

/**
 * Turns a 2.x manifest into the 1.0 one an older build would have written (no chunk digests, timing
 * or runtime; every file hash the plain SHA-256, for which a 2.1 file of several chunks needs its
 * bytes: `bytesOf(path)`), resealed.
 */
export function asVersion1(m: Manifest, bytesOf?: (path: string) => Uint8Array): Manifest {
  m.version = '1.0';
  for (const f of m.files) {
    if (f.hash.startsWith('sha256-chunks:')) {
      if (bytesOf === undefined) throw new Error(`asVersion1: ${f.path} has a chunk-list hash; pass its bytes`);
      f.hash = `sha256:${createHash('sha256').update(bytesOf(f.path)).digest('hex')}`;
    }
    delete f.chunks;
  }
  delete m.provenance.node;
  delete m.provenance.platform;
  delete m.timing;
  m.manifestHash = computeManifestHash(m);
  return m;
}
