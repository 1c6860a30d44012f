/**
 * The chunk grid of a manifest 2.0 file: chunk i covers bytes
 * [i·C, min((i + 1)·C, size)) and has its own SHA-256 in the manifest, so a
 * byte range is verifiable once it is widened to whole chunks. A 1.0 file has
 * no grid: its only verifiable range is the whole file.
 */
import type { ManifestFile } from '../format/manifest-types.js';

/** [begin, end) widened to whole chunks of `file` (to the whole file when it has no chunk digests), clamped to its size. */
export function widenToChunkGrid(file: Pick<ManifestFile, 'size' | 'chunks'>, begin: number, end: number): [number, number] {
  if (file.chunks === undefined) return [0, file.size];
  if (end <= begin) return [begin, begin];
  const c = file.chunks.bytes;
  return [Math.floor(begin / c) * c, Math.min(Math.ceil(end / c) * c, file.size)];
}
