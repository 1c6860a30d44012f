import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { expectRejection } from '../format/fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

test('restore({ requireSame }) refuses a checkpoint of another config or code, listing every difference', async (t) => {
  const store = await openStore(tempDir(t));
  t.after(() => store.close());
  await store.save(1, { tensors: sampleTensors(1) }, { configHash: 'cfg-a', gitCommit: 'abc123' });
  const same = await store.restore({ requireSame: ['config', 'git', 'library-major', 'node-major', 'platform'], configHash: 'cfg-a', gitCommit: 'abc123' });
  assert.equal(same.step, 1);
  const e = await expectRejection(store.restore({ requireSame: ['config', 'git'], configHash: 'cfg-b', gitCommit: 'def456' }), 'HF_INCOMPATIBLE', 'checkpoint 1', 'config hash: checkpoint "cfg-a", this process "cfg-b"', 'git commit: checkpoint "abc123", this process "def456"');
  assert.equal((e.data['differences'] as string[]).length, 2);
  await expectRejection(store.restore({ layout: { 'f32.weight': { offset: [0, 0], shape: [1, 5] } }, requireSame: ['config'], configHash: 'cfg-b' }), 'HF_INCOMPATIBLE', 'config hash');
  await expectRejection(store.restore({ requireSame: ['config'] }), 'HF_INVALID_ARG', 'needs the current configHash');
});
