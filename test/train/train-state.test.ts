/**
 * A TrainState goes through the real store and comes back equal: tensors
 * byte for byte (dtype and shape kept), every JSON slot, and the digest of
 * the whole. Bad slots are refused, a changed config is reported (or refused
 * when asked), and the background checkpoint is immune to later mutation.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { openStore } from '../../src/store/open-store.js';
import { charCorpusFromText } from '../../src/demo/char-corpus.js';
import { CharLmRun, charLmConfig } from '../../src/demo/char-lm-run.js';
import { Checkpointer, checkpoint } from '../../src/train/checkpoint.js';
import { PlainCharModel } from '../../src/demo/plain-char-model.js';
import {
  configHash,
  snapshotTrainState,
  tensorMapSha256,
  trainStateFromRestore,
  trainStateSha256,
  trainStateToSaveInput,
  type TrainState,
} from '../../src/train/train-state.js';
import { tempDir } from '../helpers/temp-dir.js';

const TEXT = 'the holdfast keeps its grip on the rock while the sea takes the leaves. '.repeat(8);

async function stateAfter(steps: number): Promise<{ state: TrainState; run: CharLmRun }> {
  const corpus = charCorpusFromText(TEXT, 4);
  const config = charLmConfig(corpus, { model: 'plain', totalSteps: 40, batchSize: 8, accumSteps: 3 });
  const run = new CharLmRun(corpus, config, new PlainCharModel(config));
  for (let i = 0; i < steps; i++) run.trainStep();
  return { state: await run.captureState(), run };
}

test('a TrainState round-trips through the real store bit for bit (saved mid-accumulation)', async (t) => {
  const store = await openStore(tempDir(t));
  const { state } = await stateAfter(7);
  assert.equal(state.gradAccum.microStep, 1, '7 micro-batches with 3 per update: one pending');
  assert.deepEqual(Object.keys(state.gradAccum.tensors).sort(), ['W', 'b']);
  await store.save(7, trainStateToSaveInput(state));
  const restored = await store.restore();
  const back = trainStateFromRestore(restored, { config: state.config });
  assert.equal(back.config?.matches, true);
  assert.equal(tensorMapSha256(back.state.weights), tensorMapSha256(state.weights));
  assert.equal(tensorMapSha256(back.state.optimizer.tensors), tensorMapSha256(state.optimizer.tensors));
  assert.equal(tensorMapSha256(back.state.gradAccum.tensors), tensorMapSha256(state.gradAccum.tensors));
  for (const [name, t0] of Object.entries(state.weights)) {
    assert.equal(back.state.weights[name]!.dtype, t0.dtype);
    assert.deepEqual(back.state.weights[name]!.shape, t0.shape);
    assert.deepEqual(Buffer.from(back.state.weights[name]!.data.buffer, back.state.weights[name]!.data.byteOffset, back.state.weights[name]!.data.byteLength),
      Buffer.from(t0.data.buffer, t0.data.byteOffset, t0.data.byteLength));
  }
  const { weights: _w, optimizer: _o, gradAccum: _g, ...jsonPart } = back.state;
  const { weights: _w2, optimizer: _o2, gradAccum: _g2, ...jsonExpected } = state;
  assert.deepEqual(jsonPart, jsonExpected);
  assert.deepEqual(back.state.optimizer.scalars, state.optimizer.scalars);
  assert.equal(trainStateSha256(back.state), trainStateSha256(state));
  assert.equal(restored.manifest.tensors['weights/W']!.dtype, 'F32');
  assert.ok('optimizer/W/m' in restored.manifest.tensors && 'gradAccum/W' in restored.manifest.tensors);
});

test('a changed config is reported with its differences, and refused when asked', async (t) => {
  const store = await openStore(tempDir(t));
  const { state } = await stateAfter(3);
  await store.save(3, trainStateToSaveInput(state));
  const restored = await store.restore();
  const edited = { ...state.config, batchSize: 16, maskRate: 0 };
  const { config } = trainStateFromRestore(restored, { config: edited });
  assert.equal(config?.matches, false);
  assert.equal(config?.savedHash, configHash(state.config));
  assert.deepEqual(config?.differences, ['$.batchSize: 8 → 16', '$.maskRate: 0.05 → 0']);
  assert.throws(() => trainStateFromRestore(restored, { config: edited, refuseConfigChange: true }),
    (e) => isHoldfastError(e, 'HF_INCOMPATIBLE') && /batchSize: 8 → 16/.test(e.message));
});

test('malformed train state is refused with HF_FORMAT, naming the slot', async () => {
  const { state } = await stateAfter(2);
  const input = trainStateToSaveInput(state);
  const restoredLike = (mutate: (train: Record<string, unknown>) => void, tensors = input.tensors) => {
    const root = structuredClone(input.state) as Record<string, Record<string, unknown>>;
    mutate(root['holdfast.train']!);
    return { step: 2, tensors, state: root as never };
  };
  const cases: [string, (x: Record<string, unknown>) => void][] = [
    ['version', (x) => { x['version'] = 2; }],
    ['disagrees', (x) => { x['step'] = 5; }],
    ['microStep', (x) => { x['gradAccum'] = { accumSteps: 3, microStep: 3 }; }],
    ['PRNG', (x) => { x['rng'] = { augment: { algorithm: 'xoshiro128**', s: [0, 0, 0, 0] } }; }],
    ['data', (x) => { x['data'] = { epoch: 0, index: -1, shuffleSeed: 1 }; }],
    ['loss scaler', (x) => { x['lossScaler'] = { ...(x['lossScaler'] as object), scale: 3 }; }],
    ['configHash', (x) => { x['config'] = { ...(x['config'] as object), seed: 2 }; }],
  ];
  for (const [needle, mutate] of cases) {
    assert.throws(() => trainStateFromRestore(restoredLike(mutate)), (e) => isHoldfastError(e, 'HF_FORMAT') && e.message.includes(needle), needle);
  }
  assert.throws(() => trainStateFromRestore({ step: 2, tensors: input.tensors, state: { other: 1 } }), (e) => isHoldfastError(e, 'HF_FORMAT'));
  assert.throws(() => trainStateFromRestore(restoredLike(() => undefined, { ...input.tensors, 'stray/x': input.tensors['weights/b']! })),
    (e) => isHoldfastError(e, 'HF_FORMAT') && e.message.includes('stray/x'));
});

test('snapshots and background checkpoints are immune to training that goes on', async (t) => {
  const store = await openStore(tempDir(t));
  const { state } = await stateAfter(4);
  const before = trainStateSha256(state);
  const snap = snapshotTrainState(state);
  const input = trainStateToSaveInput(state);
  const handle = checkpoint(store, 4, input);
  await handle.snapshotted;
  // Training continues and scribbles over the live buffers while the save runs.
  for (const tensor of Object.values(state.weights)) (tensor.data as Float32Array).fill(7);
  state.rng['augment']!.s[0] = 12345;
  await handle.committed;
  assert.equal(trainStateSha256(snap), before);
  const back = trainStateFromRestore(await store.restore(4)).state;
  assert.equal(trainStateSha256(back), before);
});

test('Checkpointer keeps one save in flight and surfaces a failed save on the next call', async (t) => {
  const store = await openStore(tempDir(t));
  const { state } = await stateAfter(2);
  const committed: number[] = [];
  const cp = new Checkpointer(store, { onCommitted: (r) => committed.push(r.step) });
  await cp.save(1, trainStateToSaveInput(state));
  await cp.save(2, trainStateToSaveInput(state));
  await cp.flush();
  assert.deepEqual(committed, [1, 2]);
  assert.equal(cp.busy, false);
  await cp.save(2, trainStateToSaveInput(state)); // step 2 exists: this save fails in the background
  await assert.rejects(cp.flush(), (e) => isHoldfastError(e, 'HF_STEP_EXISTS'));
  await assert.rejects(cp.save(3, trainStateToSaveInput(state)), (e) => isHoldfastError(e, 'HF_STEP_EXISTS'));
});
