/**
 * `@tensorflow/tfjs` is an optional peer dependency: `holdfast` and
 * `holdfast/train` load without it, and `holdfast/tfjs` refuses with the
 * install command. The end-to-end case runs a child process in a copy of the
 * package (package.json + dist/src, no node_modules), where ESM resolution
 * cannot find tfjs, and imports the three entry points by package name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { isHoldfastError } from '../../src/errors.js';
import { requireTfjs, TFJS_INSTALL_COMMAND } from '../../src/train/tfjs-peer.js';
import { tempDir } from '../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Outcome {
  ok: boolean;
  exports?: string[];
  name?: string;
  code?: string;
  message?: string;
}

const PROBE = `
const out = {};
for (const spec of ['@tensorflow/tfjs', 'holdfast', 'holdfast/train', 'holdfast/tfjs']) {
  try {
    out[spec] = { ok: true, exports: Object.keys(await import(spec)).sort() };
  } catch (e) {
    out[spec] = { ok: false, name: e.name, code: e.code, message: e.message };
  }
}
console.log(JSON.stringify(out));
`;

test('without @tensorflow/tfjs installed: holdfast and holdfast/train load, holdfast/tfjs says what to install', (t) => {
  const pkg = tempDir(t, 'holdfast-no-tfjs-');
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(ROOT, 'dist', 'src'), join(pkg, 'dist', 'src'), { recursive: true });
  writeFileSync(join(pkg, 'probe.mjs'), PROBE);
  const r = spawnSync(process.execPath, ['probe.mjs'], { cwd: pkg, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, Outcome>;

  assert.equal(out['@tensorflow/tfjs']!.code, 'ERR_MODULE_NOT_FOUND', 'the copy must not be able to find tfjs, or this test proves nothing');
  assert.equal(out['holdfast']!.ok, true, out['holdfast']!.message);
  assert.ok(out['holdfast']!.exports!.includes('openStore'));
  assert.equal(out['holdfast/train']!.ok, true, out['holdfast/train']!.message);
  assert.ok(out['holdfast/train']!.exports!.includes('Checkpointer'));
  const tfjs = out['holdfast/tfjs']!;
  assert.equal(tfjs.ok, false);
  assert.equal(tfjs.name, 'HoldfastError');
  assert.equal(tfjs.code, 'HF_INCOMPATIBLE');
  assert.match(tfjs.message!, /holdfast\/tfjs needs its optional peer dependency @tensorflow\/tfjs, which was not found/);
  assert.ok(tfjs.message!.endsWith(`install it with: npm i @tensorflow/tfjs@4`), tfjs.message);
});

test('with @tensorflow/tfjs installed, holdfast/tfjs loads and exports the integration', async () => {
  const m = await import('../../src/tfjs.js');
  for (const name of ['initTfjsCpu', 'saveTfjsCheckpoint', 'restoreTfjsCheckpoint', 'tfjsCompatibilityDifferences', 'holdfast', 'registerHoldfastRouter']) {
    assert.equal(typeof (m as Record<string, unknown>)[name], 'function', name);
  }
});

test('requireTfjs maps only a missing tfjs to HF_INCOMPATIBLE; other load failures pass through unchanged', async () => {
  const missing = Object.assign(new Error("Cannot find package '@tensorflow/tfjs' imported from /x/y.js"), { code: 'ERR_MODULE_NOT_FOUND' });
  await assert.rejects(requireTfjs(() => Promise.reject(missing)), (e) => isHoldfastError(e, 'HF_INCOMPATIBLE') && e.message.includes(TFJS_INSTALL_COMMAND) && e.cause === missing);
  const otherMissing = Object.assign(new Error("Cannot find package 'long' imported from /x/tfjs-core.js"), { code: 'ERR_MODULE_NOT_FOUND' });
  await assert.rejects(requireTfjs(() => Promise.reject(otherMissing)), (e) => e === otherMissing);
  const broken = new SyntaxError('Unexpected token');
  await assert.rejects(requireTfjs(() => Promise.reject(broken)), (e) => e === broken);
  await requireTfjs(() => Promise.resolve({}));
});
