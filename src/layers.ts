/**
 * The layer order of `src/`, stated once (test/layering.test.ts enforces it).
 * An area is a directory under `src/` (`fs`) or a top-level file
 * (`errors.ts`). A file may import from its own area and from any lower
 * layer, never from a higher one. Areas that share a layer are siblings and
 * never import each other either: `commit` (writing a checkpoint) and
 * `restore` (reading one) share only what lies below them, and the same
 * holds for `train`/`torture`/`bench` and for `cli`/`demo`.
 *
 * Lowest first: errors/version, then the file system seam, the formats, the
 * byte paths, the checkpoint storage seam, commit and restore, the
 * multi-rank save protocol over them (`ranks`), the store,
 * the public entry files (`holdfast`, `holdfast/train`, `holdfast/tfjs`: the
 * surface users import, which the benchmark and the CLI use like any user),
 * the things built on them, and their front ends.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'version.ts', 'layers.ts'],
  ['fs'],
  ['format'],
  ['io'],
  ['storage'],
  ['commit', 'restore'],
  ['ranks'],
  ['store'],
  ['index.ts'],
  ['train', 'torture', 'bench'],
  ['train.ts', 'tfjs.ts'],
  ['cli', 'demo'],
];

/** Only these areas may import `node:fs`: everything else does its file I/O through `FileSystem`. */
export const NODE_FS_AREAS: readonly string[] = ['fs'];
