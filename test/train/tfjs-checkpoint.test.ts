/**
 * A tf.LayersModel and its optimizer round-trip through a Holdfast store:
 * dtypes and shapes exact, Adam's `iter` and moments (and the two running
 * beta powers tfjs does not export) restored, so training continues bit for
 * bit in a freshly built model. A model of another shape or optimizer is
 * refused with every difference named, and left untouched.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { isHoldfastError } from '../../src/errors.js';
import { openStore } from '../../src/store/open-store.js';
import { captureTfjsModel, restoreTfjsCheckpoint, saveTfjsCheckpoint } from '../../src/train/tfjs-checkpoint.js';
import { fromTfTensor, toTfTensor } from '../../src/train/tfjs-tensors.js';
import { tempDir } from '../helpers/temp-dir.js';
import { tinyModel, trainTiny, weightBytes } from './tfjs-fixtures.js';

async function optimizerBytes(opt: tf.Optimizer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const { name, tensor } of await opt.getWeights()) {
    // Names differ between processes (dense1/kernel_3/m); keep the slot position and suffix.
    out[`${Object.keys(out).length}:${name.split('/').pop()}`] = Buffer.from(tensor.dataSync().buffer.slice(0)).toString('hex');
  }
  return out;
}

test('save, restore into a freshly built model: weights, iter and moments exact, training continues bit for bit', async (t) => {
  const store = await openStore(tempDir(t));
  const a = await tinyModel();
  await trainTiny(a, 0, 12);
  await saveTfjsCheckpoint(store, 12, a, { state: { note: 'mine' }, config: { lr: 0.05, batch: 16 } });
  const savedWeights = weightBytes(a);
  const savedOpt = await optimizerBytes(a.optimizer);
  const tailA = await trainTiny(a, 12, 30);

  const b = await tinyModel(); // new variables: dense1/kernel_1 …; the checkpoint names are stable
  assert.notEqual(weightBytes(b), savedWeights);
  const r = await restoreTfjsCheckpoint(store, b, { config: { lr: 0.05, batch: 32 } });
  assert.equal(r.step, 12);
  assert.deepEqual(r.state, { note: 'mine' });
  assert.equal(r.config?.matches, false, 'a config hash mismatch is reported');
  assert.deepEqual(r.config?.differences, ['$.batch: 16 → 32']);
  assert.equal((await store.inspect(12)).provenance.configHash, r.config?.savedHash);
  assert.equal(weightBytes(b), savedWeights);
  assert.equal(b.optimizer.iterations, 12, 'iterations restored');
  assert.deepEqual(await optimizerBytes(b.optimizer), savedOpt, 'moments restored byte for byte');
  const tailB = await trainTiny(b, 12, 30);
  assert.deepEqual(tailB, tailA);
  assert.equal(weightBytes(b), weightBytes(a));
  assert.equal(b.optimizer.iterations, 30);
});

test('the test can tell: weights without optimizer state, or tfjs\' own setWeights path, leave the trajectory', async (t) => {
  const store = await openStore(tempDir(t));
  const a = await tinyModel();
  // 26 updates: there float32 running products of 0.9 and 0.999 differ from pow() (they agree at 12).
  await trainTiny(a, 0, 26);
  await saveTfjsCheckpoint(store, 26, a);
  await trainTiny(a, 26, 40);

  const weightsOnly = await tinyModel();
  await restoreTfjsCheckpoint(store, weightsOnly, { weightsOnly: true });
  assert.equal(weightsOnly.optimizer.iterations, 0);
  await trainTiny(weightsOnly, 26, 40);
  assert.notEqual(weightBytes(weightsOnly), weightBytes(a), 'dropping iter and moments changes the run');

  // tfjs' setWeights alone recomputes Adam's beta powers with pow(): last-bit different.
  const viaSetWeights = await tinyModel();
  const captured = await captureTfjsModel(await (async () => {
    const m = await tinyModel();
    await restoreTfjsCheckpoint(store, m);
    return m;
  })());
  viaSetWeights.setWeights(viaSetWeights.weights.map((w) => toTfTensor(captured.weights[w.originalName]!, w.originalName)));
  const slots = captured.optimizer!.scalars['slots'] as string[];
  await viaSetWeights.optimizer.setWeights(slots.map((s) => ({ name: s, tensor: toTfTensor(captured.optimizer!.tensors[s]!, s) })));
  await trainTiny(viaSetWeights, 26, 40);
  assert.notEqual(weightBytes(viaSetWeights), weightBytes(a), 'without the saved beta powers the run drifts');
  const exact = await tinyModel();
  await restoreTfjsCheckpoint(store, exact);
  await trainTiny(exact, 26, 40);
  assert.equal(weightBytes(exact), weightBytes(a), 'with them it does not');
});

test('dtypes and shapes are preserved exactly (float32, int32, bool, scalars)', async (t) => {
  const store = await openStore(tempDir(t));
  const tensors = {
    f: tf.tensor3d(Float32Array.from([1.5, -0, Number.MIN_VALUE, 3.4028234663852886e38, NaN, -Infinity]), [1, 2, 3]),
    i: tf.tensor1d(Int32Array.from([-2147483648, 0, 2147483647]), 'int32'),
    b: tf.tensor2d([true, false, false, true], [2, 2], 'bool'),
    s: tf.scalar(7, 'int32'),
  };
  const input = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, fromTfTensor(v, k)]));
  await store.save(1, { tensors: input });
  const back = (await store.restore(1)).tensors;
  for (const [k, v] of Object.entries(tensors)) {
    const t2 = toTfTensor(back[k]!, k);
    assert.equal(t2.dtype, v.dtype, k);
    assert.deepEqual(t2.shape, v.shape, k);
    assert.deepEqual(Buffer.from(t2.dataSync().buffer.slice(0)), Buffer.from(v.dataSync().buffer.slice(0)), k);
  }
  assert.deepEqual([back['f']!.dtype, back['i']!.dtype, back['b']!.dtype, back['s']!.dtype], ['F32', 'I32', 'BOOL', 'I32']);
  assert.deepEqual(back['s']!.shape, []);
  tf.dispose(Object.values(tensors));
});

test('a model with a different layer shape is refused, every difference named, model untouched', async (t) => {
  const store = await openStore(tempDir(t));
  const a = await tinyModel();
  await trainTiny(a, 0, 3);
  await saveTfjsCheckpoint(store, 3, a);
  const wider = await tinyModel({ hidden: 16 });
  const before = weightBytes(wider);
  await assert.rejects(restoreTfjsCheckpoint(store, wider), (e) => {
    assert.ok(isHoldfastError(e, 'HF_INCOMPATIBLE'));
    const d = e.data['differences'] as string[];
    assert.deepEqual(d.filter((x) => x.startsWith('weights/')), [
      'weights/dense1/bias: checkpoint has [8] F32, model has [16] F32',
      'weights/dense1/kernel: checkpoint has [5, 8] F32, model has [5, 16] F32',
      'weights/dense2/kernel: checkpoint has [8, 3] F32, model has [16, 3] F32',
    ]);
    assert.ok(d.includes('optimizer/dense1/kernel/m: checkpoint has [5, 8] F32, model has [5, 16] F32'), d.join('\n'));
    assert.match(e.message, /checkpoint 3/);
    return true;
  });
  assert.equal(weightBytes(wider), before, 'nothing was loaded');
  assert.equal(wider.optimizer.iterations, 0);
});

test('another optimizer class or hyper-parameter is refused; Adamax cannot be checkpointed', async (t) => {
  const store = await openStore(tempDir(t));
  const a = await tinyModel();
  await trainTiny(a, 0, 2);
  await saveTfjsCheckpoint(store, 2, a);
  const sgd = await tinyModel({ optimizer: () => tf.train.sgd(0.1) });
  await assert.rejects(restoreTfjsCheckpoint(store, sgd), (e) => isHoldfastError(e, 'HF_INCOMPATIBLE') && /checkpoint has "Adam", the model's optimizer is SGD/.test(e.message));
  const beta = await tinyModel({ optimizer: () => tf.train.adam(0.05, 0.8) });
  await assert.rejects(restoreTfjsCheckpoint(store, beta), (e) => isHoldfastError(e, 'HF_INCOMPATIBLE') && /optimizer config beta1: checkpoint 0.9, model 0.8/.test(e.message));
  const adamax = await tinyModel({ optimizer: () => tf.train.adamax(0.05) });
  await trainTiny(adamax, 0, 1);
  await assert.rejects(saveTfjsCheckpoint(store, 5, adamax), (e) => isHoldfastError(e, 'HF_INVALID_ARG') && /Adamax/.test(e.message));
});

test('SGD with momentum round-trips too (state in getWeights only)', async (t) => {
  const store = await openStore(tempDir(t));
  const make = () => tinyModel({ optimizer: () => tf.train.momentum(0.05, 0.9) });
  const a = await make();
  await trainTiny(a, 0, 6);
  await saveTfjsCheckpoint(store, 6, a);
  await trainTiny(a, 6, 15);
  const b = await make();
  await restoreTfjsCheckpoint(store, b);
  assert.equal(b.optimizer.iterations, 6);
  await trainTiny(b, 6, 15);
  assert.equal(weightBytes(b), weightBytes(a));
});

/** The typed array the CPU backend keeps a variable's values in. */
function valuesOf(v: tf.Tensor): unknown {
  return (tf.backend() as unknown as { data: { get(id: object): { values: unknown } } }).data.get(v.dataId).values;
}

test('inPlace: the weights are read into the model variables\' own arrays, and training continues bit for bit', async (t) => {
  const store = await openStore(tempDir(t));
  const a = await tinyModel();
  await trainTiny(a, 0, 12);
  await saveTfjsCheckpoint(store, 12, a);
  const savedWeights = weightBytes(a);
  const savedOpt = await optimizerBytes(a.optimizer);
  const tailA = await trainTiny(a, 12, 30);

  const b = await tinyModel();
  const kernel = b.weights[0]!.read();
  const aliased = kernel.clone(); // shares the kernel's data: must keep its own values
  const aliasedBefore = Buffer.from(aliased.dataSync().buffer.slice(0)).toString('hex');
  const bias = b.weights[1]!.read();
  const biasArray = valuesOf(bias);
  const r = await restoreTfjsCheckpoint(store, b, { inPlace: true });
  assert.equal(r.filledInPlace, true);
  assert.equal(valuesOf(bias), biasArray, 'an unshared variable was filled in its own array');
  assert.equal(Buffer.from(aliased.dataSync().buffer.slice(0)).toString('hex'), aliasedBefore, 'a tensor sharing a variable\'s data is not changed');
  aliased.dispose();
  assert.equal(weightBytes(b), savedWeights);
  assert.deepEqual(await optimizerBytes(b.optimizer), savedOpt, 'moments restored byte for byte');
  assert.deepEqual(await trainTiny(b, 12, 30), tailA);
});

test('inPlace: a model that does not fit is refused before anything is read into it', async (t) => {
  const store = await openStore(tempDir(t));
  const a = await tinyModel();
  await trainTiny(a, 0, 3);
  await saveTfjsCheckpoint(store, 3, a);
  const wider = await tinyModel({ hidden: 16 });
  const before = weightBytes(wider);
  await assert.rejects(restoreTfjsCheckpoint(store, wider, { inPlace: true }), (e) => {
    assert.ok(isHoldfastError(e, 'HF_INCOMPATIBLE'));
    assert.ok((e.data['differences'] as string[]).includes('weights/dense1/bias: checkpoint has [8] F32, model has [16] F32'));
    return true;
  });
  assert.equal(weightBytes(wider), before, 'nothing was loaded');
});
