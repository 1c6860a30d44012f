// Imports point downward only (src/layers.ts states the order), and only src/fs touches node:fs.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { LAYERS, NODE_FS_AREAS } from '../src/layers.js';

/** The repository's src/ (this test runs from dist/test/). */
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** Static imports and re-exports (`import … from`, `export … from`, `import '…'`) and `import('…')` outside strings. */
const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?)?\s*from\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /(?<![\w'"`.])import\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function importsOf(source: string): string[] {
  return IMPORT_PATTERNS.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!));
}

/** `fs` for src/fs/x.ts, `errors.ts` for src/errors.ts. */
function areaOf(srcRelative: string): string {
  return srcRelative.split('/')[0]!;
}

function layerOf(area: string): number {
  const i = LAYERS.findIndex((layer) => layer.includes(area));
  if (i < 0) throw new Error(`src area ${area} is in no layer of src/layers.ts: add it there`);
  return i;
}

/** Every broken rule in `files` (src-relative path → source), as readable lines. */
function layeringViolations(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, source] of files) {
    const from = areaOf(file);
    for (const spec of importsOf(source)) {
      if (/^(node:)?fs(\/promises)?$/.test(spec) && !NODE_FS_AREAS.includes(from)) problems.push(`${file} imports ${spec}: only ${NODE_FS_AREAS.join(', ')} may`);
      if (!spec.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) {
        problems.push(`${file} imports ${spec}, outside src/`);
        continue;
      }
      if (!files.has(target)) problems.push(`${file} imports ${spec}, which is no file under src/`);
      const to = areaOf(target);
      if (to === from) continue;
      const [a, b] = [layerOf(from), layerOf(to)];
      if (b > a) problems.push(`${file} (${from}, layer ${a}) imports ${spec} (${to}, layer ${b}): a higher layer`);
      else if (a === b) problems.push(`${file} (${from}) imports ${spec} (${to}): sibling areas of one layer never import each other`);
    }
  }
  return problems;
}

function sourcesUnder(dir: string, base = dir): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) for (const [k, v] of sourcesUnder(p, base)) files.set(k, v);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.set(relative(base, p).split('\\').join('/'), readFileSync(p, 'utf8'));
  }
  return files;
}

test('every import in src/ points to its own area or a lower layer, and only src/fs imports node:fs', () => {
  const files = sourcesUnder(SRC);
  assert.ok(files.size > 100, `found only ${files.size} source files under ${SRC}`);
  assert.ok(importsOf(files.get('store/open-store.ts')!).includes('../commit/commit-checkpoint.js'), 'the import parser sees a known import');
  assert.ok(importsOf(files.get('fs/posix-file-system.ts')!).some((s) => s.startsWith('node:fs')), 'the import parser sees node:fs');
  assert.deepEqual(layeringViolations(files), []);
});

test('the checker catches an upward import, a sibling import, node:fs outside src/fs, and an area in no layer', () => {
  const files = new Map([
    ['fs/a.ts', "import type { Store } from '../store/b.js';\n"],
    ['store/b.ts', "export { x } from '../fs/a.js';\nimport '../errors.js';\n"],
    ['errors.ts', ''],
    ['commit/c.ts', "import {\n  verify,\n} from '../restore/d.js';\n"],
    ['restore/d.ts', "import { readFileSync } from 'node:fs';\nconst m = await import('../store/b.js');\n"],
  ]);
  assert.deepEqual(layeringViolations(files), [
    'fs/a.ts (fs, layer 1) imports ../store/b.js (store, layer 7): a higher layer',
    'commit/c.ts (commit) imports ../restore/d.js (restore): sibling areas of one layer never import each other',
    'restore/d.ts imports node:fs: only fs may',
    'restore/d.ts (restore, layer 5) imports ../store/b.js (store, layer 7): a higher layer',
  ]);
  assert.throws(() => layeringViolations(new Map([['newarea/x.ts', "import '../errors.js';\n"], ['errors.ts', '']])), /newarea is in no layer/);
});
