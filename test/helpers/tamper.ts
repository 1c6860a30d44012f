/** Test-only edits of committed checkpoints: flip bits, rewrite manifests (re-sealed so only the targeted check can fire). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeManifestHash } from '../../src/format/manifest.js';
import type { Manifest } from '../../src/format/manifest-types.js';

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
