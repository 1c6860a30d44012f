#!/usr/bin/env node
/**
 * Runs every compiled test file (dist/test/**\/*.test.js) under `node --test`.
 * Why a script: Node 24 reads `node --test dist/test/` as a module path, and
 * Node 20's `--test` does not expand globs, so the files are listed here and
 * passed explicitly, which means the same thing on both. Helper modules
 * (fixtures, helpers) are not *.test.js and so are not run as tests.
 * Extra arguments are passed to `node --test` first, e.g.
 * `npm test -- --test-name-pattern=verify`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'dist', 'test');
const files = readdirSync(testDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => relative(root, join(testDir, f)))
  .sort();
if (files.length === 0) {
  console.error(`no *.test.js under ${testDir}; run the build first`);
  process.exit(1);
}
console.log(`# node ${process.version}: ${files.length} test files`);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), ...files], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
