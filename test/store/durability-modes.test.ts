import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { DURABILITY_MODES } from '../../src/store/types.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

for (const mode of DURABILITY_MODES) {
  test(`${mode}: committed checkpoint layout`, async (t) => {
    const root = join(tempDir(t), 'store');
    const store = await openStore(root, { durability: mode });
    const res = await store.save(12, { tensors: sampleTensors(), state: { mode } });
    assert.equal(res.path, join(root, 'ckpt-000000000012'));
    assert.deepEqual(readdirSync(res.path).sort(), ['SHA256SUMS', 'manifest.json', 'r0000-p000.safetensors']);
    assert.ok(existsSync(join(root, 'holdfast.json')));
    // Atomic modes stage under .staging and leave it empty; unsafe never stages.
    if (mode === 'unsafe') assert.equal(existsSync(join(root, '.staging')), false);
    else assert.deepEqual(readdirSync(join(root, '.staging')), []);
    assert.deepEqual((await store.restore()).state, { mode });
  });
}
