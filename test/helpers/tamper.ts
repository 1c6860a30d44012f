/** Test-only edits of committed checkpoints: flip bits, rewrite manifests (re-sealed so only the targeted check can fire). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeManifestHash } from '../../src/format/manifest.js';
import type { Manifest, ManifestFile } from '../../src/format/manifest-types.js';
import { createHash } from 'node:crypto';

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

/** Records `bytes` as a file's content in its manifest entry: size, whole-file hash and (2.0) chunk digests. */
export function bindFile(f: ManifestFile, bytes: Uint8Array): void {
  const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  f.size = bytes.byteLength;
  f.hash = `sha256:${hex(bytes)}`;
  if (f.chunks === undefined) return;
  const sha256: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += f.chunks.bytes) sha256.push(hex(bytes.subarray(at, at + f.chunks.bytes)));
  f.chunks = { bytes: f.chunks.bytes, sha256 };
}

/** Turns a 2.0 manifest into the 1.0 one an older build would have written (no chunk digests, timing or runtime), resealed. */
export function asVersion1(m: Manifest): Manifest {
  m.version = '1.0';
  for (const f of m.files) delete f.chunks;
  delete m.provenance.node;
  delete m.provenance.platform;
  delete m.timing;
  m.manifestHash = computeManifestHash(m);
  return m;
}
