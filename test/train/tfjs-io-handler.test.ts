/**
 * `model.save(holdfast(store, step))` and `tf.loadLayersModel(holdfast(store))`
 * behave as tfjs users expect, through Holdfast's commit and verification:
 * weights exact, optimizer included on request, weight data given as one
 * buffer or several, a corrupted newest checkpoint rolled back, and no
 * router registered until asked.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { isHoldfastError } from '../../src/errors.js';
import { openStore } from '../../src/store/open-store.js';
import { charCorpusFromText } from '../../src/demo/char-corpus.js';
import { CharLmRun, charLmConfig } from '../../src/demo/char-lm-run.js';
import { TfjsCharModel } from '../../src/demo/tfjs-char-model.js';
import { holdfast, holdfastIOHandler, parseHoldfastUrl, registerHoldfastRouter } from '../../src/train/tfjs-io-handler.js';
import { trainStateToSaveInput } from '../../src/train/train-state.js';
import { tempDir } from '../helpers/temp-dir.js';
import { tinyModel, trainTiny, weightBytes } from './tfjs-fixtures.js';

const probe = (): tf.Tensor2D => tf.tensor2d(Float32Array.from({ length: 10 }, (_, i) => i / 10 - 0.5), [2, 5]);

function predictBytes(model: tf.LayersModel): string {
  return tf.tidy(() => Buffer.from((model.predict(probe()) as tf.Tensor).dataSync().buffer.slice(0)).toString('hex'));
}

test('model.save(holdfast(store, step)) then tf.loadLayersModel(holdfast(store)): same weights, same predictions', async (t) => {
  const store = await openStore(tempDir(t));
  const model = await tinyModel();
  await trainTiny(model, 0, 5);
  const result = await model.save(holdfast(store, 3));
  assert.ok(result.modelArtifactsInfo.weightDataBytes! > 0);
  const loaded = await tf.loadLayersModel(holdfast(store));
  assert.equal(weightBytes(loaded), weightBytes(model));
  assert.equal(predictBytes(loaded), predictBytes(model));
  assert.deepEqual(loaded.layers.map((l) => l.name), ['dense1', 'dense2']);
  const [report] = await store.verify(3);
  assert.equal(report!.ok, true);
  const manifest = await store.inspect(3);
  assert.deepEqual(manifest.tensors['weights/dense1/kernel']!.shape, [5, 8]);
  assert.equal(manifest.tensors['weights/dense1/kernel']!.dtype, 'F32');
  assert.equal(holdfastIOHandler, holdfast);
});

test('includeOptimizer: the loaded model comes back compiled with the optimizer\'s iter and moments', async (t) => {
  const store = await openStore(tempDir(t));
  const model = await tinyModel();
  await trainTiny(model, 0, 7);
  await model.save(holdfast(store, 7), { includeOptimizer: true });
  const loaded = await tf.loadLayersModel(holdfast(store, 7));
  assert.ok(loaded.optimizer !== undefined);
  assert.equal(loaded.optimizer.iterations, 7);
  const moments = async (m: tf.LayersModel) => (await m.optimizer.getWeights()).slice(1).map((w) => Buffer.from(w.tensor.dataSync().buffer.slice(0)).toString('hex'));
  assert.deepEqual(await moments(loaded), await moments(model));
  const manifest = await store.inspect(7);
  assert.ok(Object.keys(manifest.tensors).some((n) => n.startsWith('optimizer/') && n.endsWith('/m')));
  assert.equal(manifest.tensors['optimizer/iter']!.dtype, 'I32');
});

test('weightData split across several ArrayBuffers is accepted; save without a step takes the next one', async (t) => {
  const store = await openStore(tempDir(t));
  const values = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const ints = Int32Array.from([7, -8]);
  const whole = new Uint8Array(values.byteLength + ints.byteLength);
  whole.set(new Uint8Array(values.buffer), 0);
  whole.set(new Uint8Array(ints.buffer), values.byteLength);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: { class_name: 'Sequential', config: { name: 'x', layers: [] } },
    weightSpecs: [{ name: 'a/w', shape: [2, 3], dtype: 'float32' }, { name: 'a/i', shape: [2], dtype: 'int32' }],
    // Cut inside the first tensor: the handler must join before slicing.
    weightData: [whole.slice(0, 10).buffer, whole.slice(10, 27).buffer, whole.slice(27).buffer],
    format: 'layers-model',
  };
  const handler = holdfast(store);
  await handler.save!(artifacts);
  await handler.save!({ ...artifacts, weightData: whole.slice().buffer });
  assert.deepEqual((await store.list()).map((c) => c.step), [0, 1]);
  const back = await holdfast(store, 0).load!();
  assert.deepEqual(Buffer.from(back.weightData as ArrayBuffer), Buffer.from(whole));
  assert.deepEqual(back.weightSpecs, artifacts.weightSpecs);
  const r = await store.restore(0);
  assert.deepEqual([...(r.tensors['weights/a/i']!.data as Int32Array)], [7, -8]);
  await assert.rejects(holdfast(store, 5).save!({ ...artifacts, weightData: whole.slice(0, 20).buffer }), (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
});

test('a checkpoint written by the tfjs training loop loads with tf.loadLayersModel', async (t) => {
  const store = await openStore(tempDir(t));
  const corpus = charCorpusFromText('the sea takes the leaves; keep the holdfast. '.repeat(6), 4);
  const config = charLmConfig(corpus, { model: 'tfjs', totalSteps: 10, batchSize: 8, hiddenUnits: 12 });
  const m = await TfjsCharModel.create(config);
  const run = new CharLmRun(corpus, config, m);
  for (let i = 0; i < 4; i++) run.trainStep();
  await store.save(4, trainStateToSaveInput(await run.captureState()));
  const loaded = await tf.loadLayersModel(holdfast(store));
  assert.equal(weightBytes(loaded), weightBytes(m.model));
  assert.equal(loaded.optimizer.iterations, 2);
  m.dispose();
});

test('loading verifies: a corrupted newest checkpoint is quarantined and the previous one loads', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(dir);
  const model = await tinyModel();
  await model.save(holdfast(store, 1));
  const first = weightBytes(model);
  await trainTiny(model, 0, 3);
  await model.save(holdfast(store, 2));
  const ckpt = join(dir, 'ckpt-000000000002');
  const shard = readdirSync(ckpt).find((f) => f.endsWith('.safetensors'))!;
  const bytes = readFileSync(join(ckpt, shard));
  bytes[bytes.length - 1]! ^= 0x01;
  writeFileSync(join(ckpt, shard), bytes);
  const loaded = await tf.loadLayersModel(holdfast(store));
  assert.equal(weightBytes(loaded), first);
  assert.deepEqual((await store.list()).map((c) => c.step), [1]);
});

test('a checkpoint without a tfjs model is refused with HF_INCOMPATIBLE', async (t) => {
  const store = await openStore(tempDir(t));
  await store.save(1, { tensors: {}, state: { other: true } });
  await assert.rejects(tf.loadLayersModel(holdfast(store)), (e) => isHoldfastError(e, 'HF_INCOMPATIBLE'));
});

test('holdfast:// URLs work only after registerHoldfastRouter()', async (t) => {
  const dir = tempDir(t);
  assert.equal(tf.io.getSaveHandlers(`holdfast://${dir}`).length, 0, 'importing registers nothing');
  assert.deepEqual(parseHoldfastUrl(`holdfast://${dir}?step=9`), { root: dir, step: 9 });
  assert.equal(parseHoldfastUrl('file:///x'), null);
  registerHoldfastRouter();
  registerHoldfastRouter();
  assert.equal(tf.io.getSaveHandlers(`holdfast://${dir}`).length, 1, 'idempotent');
  const model = await tinyModel();
  await model.save(`holdfast://${dir}?step=9`);
  const loaded = await tf.loadLayersModel(`holdfast://${dir}`);
  assert.equal(weightBytes(loaded), weightBytes(model));
  assert.deepEqual((await (await openStore(dir)).list()).map((c) => c.step), [9]);
});
