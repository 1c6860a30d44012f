import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { charCorpusFromText } from '../../src/demo/char-corpus.js';
import { CharLmRun, charLmConfig } from '../../src/demo/char-lm-run.js';
import { PlainCharModel } from '../../src/demo/plain-char-model.js';
import { openStore } from '../../src/store/open-store.js';
import { restoreTrainStateInto } from '../../src/train/restore-train-state.js';
import { tensorMapSha256, trainStateSha256, trainStateToSaveInput, type TrainState } from '../../src/train/train-state.js';
import { tempDir } from '../helpers/temp-dir.js';

const TEXT = 'the holdfast keeps its grip on the rock while the sea takes the leaves. '.repeat(8);

async function stateAfter(steps: number): Promise<TrainState> {
  const corpus = charCorpusFromText(TEXT, 4);
  const config = charLmConfig(corpus, { model: 'plain', totalSteps: 40, batchSize: 8, accumSteps: 3 });
  const run = new CharLmRun(corpus, config, new PlainCharModel(config));
  for (let i = 0; i < steps; i++) run.trainStep();
  return run.captureState();
}

for (const targetSteps of [2, 3]) {
  test(`restoreTrainStateInto fills a running state's own arrays (target ${targetSteps % 3 === 0 ? 'without' : 'with'} gradient accumulators)`, async (t) => {
    const store = await openStore(tempDir(t));
    t.after(() => store.close());
    const saved = await stateAfter(7);
    await store.save(7, trainStateToSaveInput(saved));
    const target = await stateAfter(targetSteps);
    assert.notEqual(trainStateSha256(target), trainStateSha256(saved));
    const back = await restoreTrainStateInto(store, target, { config: saved.config });
    assert.equal(back.config?.matches, true);
    assert.equal(trainStateSha256(back.state), trainStateSha256(saved), 'the whole state, bit for bit');
    for (const [name, t0] of Object.entries(target.weights)) assert.equal(back.state.weights[name]!.data, t0.data, `weights/${name} filled in place`);
    for (const [name, t0] of Object.entries(target.optimizer.tensors)) assert.equal(back.state.optimizer.tensors[name]!.data, t0.data, `optimizer/${name} filled in place`);
    for (const [name, t0] of Object.entries(target.gradAccum.tensors)) assert.equal(back.state.gradAccum.tensors[name]!.data, t0.data, `gradAccum/${name} filled in place`);
  });
}

test('restoreTrainStateInto refuses a state that does not fit, before reading, listing each difference', async (t) => {
  const store = await openStore(tempDir(t));
  t.after(() => store.close());
  const saved = await stateAfter(4);
  await store.save(4, trainStateToSaveInput(saved));
  const target = await stateAfter(1);
  const weightsBefore = tensorMapSha256(target.weights);
  target.weights['extra'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
  const [first] = Object.keys(target.optimizer.tensors);
  delete target.optimizer.tensors[first!];
  await assert.rejects(restoreTrainStateInto(store, target), (e: unknown) => {
    assert.ok(isHoldfastError(e, 'HF_INCOMPATIBLE'));
    assert.deepEqual((e.data['differences'] as string[]).map((d) => d.split(':')[0]).sort(), [`optimizer/${first}`, 'weights/extra']);
    return true;
  });
  delete target.weights['extra'];
  assert.equal(tensorMapSha256(target.weights), weightsBefore, 'nothing was read into the arrays');
});
