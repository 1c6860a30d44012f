/**
 * The framework-free loop resumes bit for bit: in process through the real
 * store (also mid-accumulation), and across SIGKILLs at seeded random steps
 * and in the middle of saves. Dropping Adam's step counter or moments breaks
 * it (so the tests can tell), a tampered checkpoint fails the post-resume
 * loss check, and a model of another shape is refused with the differences.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { openStore } from '../../src/store/open-store.js';
import { loadCharCorpus, type CharCorpus } from '../../src/demo/char-corpus.js';
import type { CharLmConfig } from '../../src/demo/char-lm-model.js';
import { CharLmRun, charLmConfig } from '../../src/demo/char-lm-run.js';
import { PlainCharModel } from '../../src/demo/plain-char-model.js';
import { assertResumeLoss } from '../../src/train/post-resume-check.js';
import { tensorMapSha256, trainStateFromRestore, trainStateSha256, trainStateToSaveInput, type TrainState } from '../../src/train/train-state.js';
import { tempDir } from '../helpers/temp-dir.js';
import { assertBitExactResume, CORPUS, crashedVersusUninterrupted, planCoveringEveryStall } from './resume-helpers.js';

const STEPS = 90;

async function setup(contextLength = 8): Promise<{ corpus: CharCorpus; config: CharLmConfig }> {
  const corpus = await loadCharCorpus(new PosixFileSystem(), CORPUS, { contextLength });
  return { corpus, config: charLmConfig(corpus, { model: 'plain', totalSteps: STEPS, accumSteps: 2 }) };
}

async function trainTo(run: CharLmRun, steps: number): Promise<number[]> {
  const losses: number[] = [];
  while (run.step < steps) losses.push(run.trainStep().loss);
  return losses;
}

async function uninterrupted(): Promise<{ losses: number[]; final: TrainState }> {
  const { corpus, config } = await setup();
  const run = new CharLmRun(corpus, config, new PlainCharModel(config));
  const losses = await trainTo(run, STEPS);
  return { losses, final: await run.captureState() };
}

/** Trains to `at`, saves through the store, restores into a fresh model (after `edit`), trains to the end. */
async function savedAndResumed(dir: string, at: number, edit: (s: TrainState) => void = () => undefined) {
  const { corpus, config } = await setup();
  const store = await openStore(dir);
  const first = new CharLmRun(corpus, config, new PlainCharModel(config));
  const head = await trainTo(first, at);
  await store.save(at, trainStateToSaveInput(await first.captureState()));
  const { state } = trainStateFromRestore(await store.restore(), { config });
  edit(state);
  const second = new CharLmRun(corpus, config, new PlainCharModel(config));
  const check = await second.resume(state);
  const tail = await trainTo(second, STEPS);
  return { losses: [...head, ...tail], final: await second.captureState(), check, restored: state };
}

test('save at a step (also mid-accumulation), restore into a fresh model: identical to never stopping', async (t) => {
  const ref = await uninterrupted();
  for (const at of [1, 37, 60]) {
    const r = await savedAndResumed(tempDir(t), at);
    assert.ok(r.check.ok && !r.check.skipped, r.check.message);
    assert.deepEqual(r.losses, ref.losses, `losses, resumed at ${at}`);
    assert.equal(tensorMapSha256(r.final.weights), tensorMapSha256(ref.final.weights));
    assert.equal(trainStateSha256(r.final), trainStateSha256(ref.final));
  }
});

test('optimizer state is really restored: dropping Adam\'s step counter or moments changes the run', async (t) => {
  const ref = await uninterrupted();
  const kept = await savedAndResumed(tempDir(t), 40);
  assert.equal(kept.restored.optimizer.scalars['t'], 20, '40 micro-batches, 2 per update');
  assert.equal(tensorMapSha256(kept.final.optimizer.tensors), tensorMapSha256(ref.final.optimizer.tensors));
  const droppedStep = await savedAndResumed(tempDir(t), 40, (s) => {
    s.optimizer.scalars['t'] = 0;
  });
  const droppedMoments = await savedAndResumed(tempDir(t), 40, (s) => {
    for (const m of Object.values(s.optimizer.tensors)) (m.data as Float32Array).fill(0);
  });
  for (const broken of [droppedStep, droppedMoments]) {
    assert.notEqual(tensorMapSha256(broken.final.weights), tensorMapSha256(ref.final.weights));
    assert.notDeepEqual(broken.losses.slice(41), ref.losses.slice(41));
  }
});

test('post-resume check: a checkpoint whose weights were altered fails the recomputed-loss comparison', async (t) => {
  const r = await savedAndResumed(tempDir(t), 30, (s) => {
    (s.weights['W']!.data as Float32Array)[0]! += 0.5;
    const W = s.weights['W']!.data as Float32Array;
    for (let i = 0; i < W.length; i += 7) W[i] = W[i]! * 1.01;
  });
  assert.equal(r.check.ok, false);
  assert.match(r.check.message, /recorded at save time/);
  await assert.rejects(assertResumeLoss(r.restored.lastBatch, () => r.check.recomputedLoss!), (e) => isHoldfastError(e, 'HF_INCOMPATIBLE'));
});

test('restore into a model of another shape is refused, naming every differing tensor', async (t) => {
  const { corpus, config } = await setup();
  const store = await openStore(tempDir(t));
  const run = new CharLmRun(corpus, config, new PlainCharModel(config));
  await trainTo(run, 3);
  await store.save(3, trainStateToSaveInput(await run.captureState()));
  const { state } = trainStateFromRestore(await store.restore());
  const other = await setup(6);
  const otherRun = new CharLmRun(other.corpus, other.config, new PlainCharModel(other.config));
  await assert.rejects(otherRun.resume(state), (e) => {
    assert.ok(isHoldfastError(e, 'HF_INCOMPATIBLE'));
    const d = e.data['differences'] as string[];
    assert.ok(d.includes('weights/W: checkpoint has [288, 35] F32, model has [216, 35] F32'), d.join('\n'));
    assert.ok(d.some((x) => x.startsWith('optimizer/W/m:')) && d.some((x) => x.startsWith('gradAccum/W:')));
    assert.ok(!d.some((x) => x.startsWith('weights/b')), 'b has the same shape');
    assert.match(e.message, /4 difference\(s\)/);
    return true;
  });
});

test('SIGKILLed at seeded random steps and mid-save (torn write, fsync, rename): final state and loss curve identical', async (t) => {
  const crashes = planCoveringEveryStall(STEPS, 6, 2024);
  assert.deepEqual(crashes.filter((c) => c.kind === 'mid-save').map((c) => c.kind === 'mid-save' && c.op), ['pwrite', 'sync', 'rename']);
  const { reference, resumed } = await crashedVersusUninterrupted(tempDir(t), { model: 'plain', steps: STEPS, interval: 10, seed: 1, crashes });
  assertBitExactResume(reference, resumed, STEPS);
  // The worker processes compute exactly what this process computes for the same config.
  const ref = await uninterrupted();
  assert.deepEqual(reference.losses, ref.losses);
  assert.equal(reference.weightsSha256, tensorMapSha256(ref.final.weights));
});
