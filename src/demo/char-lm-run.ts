/**
 * The training loop of the character-level language model, framework-free:
 * it owns the data position, the augmentation PRNG, the learning-rate
 * schedule, the loss scaler and the gradient-accumulation counter, and drives
 * a `CharLmModel` (plain JS or tfjs) one micro-batch at a time. Its whole
 * state goes into a `TrainState`, and `resume` puts it back and verifies it.
 *
 * One step (micro-batch):
 *   position ← sampler position; batch ← next indices, masked with the augment PRNG
 *   loss ← model.accumulate(batch, scale); microStep += 1
 *   if microStep = accumSteps: lr ← schedule(update number);
 *     finite ← model.applyUpdate(lr, scale · accumSteps); scaler.update(finite); microStep ← 0
 *
 * Contract: given the same config, corpus and starting state, the sequence of
 * losses and the final state are bit-identical, whether or not the run was
 * stopped, saved and resumed at any step boundary (also mid-accumulation).
 */
import { invalidArg } from '../errors.js';
import { makeCharBatch, type CharBatch, type CharCorpus } from './char-corpus.js';
import type { CharLmConfig, CharLmModel } from './char-lm-model.js';
import { ShuffledSampler, type DataPosition } from '../train/data-position.js';
import { initialLossScaler, updateLossScaler, type LossScalerState } from '../train/loss-scaler.js';
import { learningRateAt, stepLrSchedule, warmupCosineSchedule, type LrScheduleState } from '../train/lr-schedule.js';
import { checkResumeLoss, type ResumeCheck } from '../train/post-resume-check.js';
import { Prng } from '../train/prng.js';
import type { TrainState } from '../train/train-state.js';

interface StepResult {
  step: number;
  loss: number;
  /** Rate of the last optimizer update (0 before the first). */
  lr: number;
  lossScale: number;
  /** An optimizer update happened at this step. */
  updated: boolean;
}

/** Defaults for the demo-sized model; every field may be overridden. */
export function charLmConfig(corpus: CharCorpus, overrides: Partial<CharLmConfig> & Pick<CharLmConfig, 'model' | 'totalSteps'>): CharLmConfig {
  const config: CharLmConfig = {
    seed: 1,
    corpusSha256: corpus.sha256,
    vocabSize: corpus.vocab.length,
    contextLength: corpus.contextLength,
    hiddenUnits: overrides.model === 'tfjs' ? 64 : 0,
    batchSize: 32,
    accumSteps: 2,
    baseLr: 0.01,
    minLr: 0.001,
    warmupSteps: 10,
    maskRate: 0.05,
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    lossScale: { initial: 1024, growthInterval: 50, maxScale: 65536 },
    ...overrides,
  };
  if (config.vocabSize !== corpus.vocab.length || config.contextLength !== corpus.contextLength || config.corpusSha256 !== corpus.sha256) {
    throw invalidArg('config vocabSize, contextLength and corpusSha256 must describe the corpus');
  }
  return config;
}

export class CharLmRun {
  readonly corpus: CharCorpus;
  readonly config: CharLmConfig;
  readonly model: CharLmModel;
  #step = 0;
  #sampler: ShuffledSampler;
  #augment: Prng;
  #lrSchedule: LrScheduleState;
  #lossScaler: LossScalerState;
  #microStep = 0;
  #lr = 0;
  #lastBatch: { step: number; position: DataPosition; size: number } | null = null;

  constructor(corpus: CharCorpus, config: CharLmConfig, model: CharLmModel) {
    if (model.kind !== config.model) throw invalidArg(`config says model ${config.model}, got a ${model.kind} model`);
    this.corpus = corpus;
    this.config = config;
    this.model = model;
    this.#sampler = new ShuffledSampler(corpus.exampleCount, { epoch: 0, index: 0, shuffleSeed: config.seed });
    this.#augment = Prng.fromSeed(config.seed, 'augment');
    const updates = Math.max(Math.ceil(config.totalSteps / config.accumSteps), config.warmupSteps + 1);
    this.#lrSchedule = warmupCosineSchedule({ baseLr: config.baseLr, minLr: config.minLr, warmupSteps: config.warmupSteps, totalSteps: updates });
    this.#lossScaler = initialLossScaler({ scale: config.lossScale.initial, growthInterval: config.lossScale.growthInterval, maxScale: config.lossScale.maxScale });
  }

  /** Micro-batches completed. */
  get step(): number {
    return this.#step;
  }

  trainStep(): StepResult {
    const position = this.#sampler.position();
    const indices = this.#sampler.next(this.config.batchSize);
    const batch = makeCharBatch(this.corpus, indices, { rng: this.#augment, maskRate: this.config.maskRate, maskId: this.config.vocabSize });
    const scale = this.#lossScaler.scale;
    const loss = this.model.accumulate(batch, scale);
    this.#step += 1;
    this.#microStep += 1;
    this.#lastBatch = { step: this.#step, position, size: indices.length };
    let updated = false;
    if (this.#microStep === this.config.accumSteps) {
      const next = stepLrSchedule(this.#lrSchedule, this.#lrSchedule.lastStep + 1);
      this.#lrSchedule = next.state;
      this.#lr = next.lr;
      const finite = this.model.applyUpdate(next.lr, scale * this.config.accumSteps);
      this.#lossScaler = updateLossScaler(this.#lossScaler, finite);
      this.#microStep = 0;
      updated = true;
    }
    return { step: this.#step, loss, lr: this.#lr, lossScale: scale, updated };
  }

  /** The clean (unmasked) batch a last-batch record points at. */
  batchAt(position: DataPosition, size: number): CharBatch {
    return makeCharBatch(this.corpus, new ShuffledSampler(this.corpus.exampleCount, position).next(size));
  }

  /** A copy of the whole state, including the last batch's loss under the current weights. */
  async captureState(): Promise<TrainState> {
    const m = await this.model.exportState();
    const lb = this.#lastBatch;
    return {
      step: this.#step,
      weights: m.weights,
      optimizer: m.optimizer,
      gradAccum: { accumSteps: this.config.accumSteps, microStep: this.#microStep, tensors: m.gradAccum },
      rng: { augment: this.#augment.state() },
      data: this.#sampler.position(),
      lrSchedule: { ...this.#lrSchedule },
      lossScaler: { ...this.#lossScaler },
      config: structuredClone(this.config),
      lastBatch: lb === null ? null : { ...lb, position: { ...lb.position }, loss: this.model.evaluate(this.batchAt(lb.position, lb.size)) },
      framework: m.framework,
    };
  }

  /**
   * Puts a saved state back (model first, refusing incompatible ones), then
   * recomputes the last batch's loss and compares it with the saved value.
   * @throws HF_INCOMPATIBLE from the model's compatibility check.
   */
  async resume(ts: TrainState): Promise<ResumeCheck> {
    if (ts.gradAccum.accumSteps !== this.config.accumSteps) {
      throw invalidArg(`checkpoint accumulates ${ts.gradAccum.accumSteps} micro-batches per update, this run ${this.config.accumSteps}`);
    }
    await this.model.importState({ weights: ts.weights, optimizer: ts.optimizer, gradAccum: ts.gradAccum.tensors, framework: ts.framework }, ts.step);
    this.#step = ts.step;
    this.#sampler = new ShuffledSampler(this.corpus.exampleCount, ts.data);
    const augment = ts.rng['augment'];
    if (augment === undefined) throw invalidArg(`checkpoint ${ts.step} has no "augment" generator state`);
    this.#augment = Prng.fromState(augment);
    this.#lrSchedule = { ...ts.lrSchedule };
    this.#lossScaler = { ...ts.lossScaler };
    this.#microStep = ts.gradAccum.microStep;
    this.#lastBatch = ts.lastBatch === null ? null : { step: ts.lastBatch.step, position: { ...ts.lastBatch.position }, size: ts.lastBatch.size };
    this.#lr = ts.lrSchedule.lastStep === 0 ? 0 : learningRateAt(ts.lrSchedule, ts.lrSchedule.lastStep);
    return checkResumeLoss(ts.lastBatch, (rec) => this.model.evaluate(this.batchAt(rec.position, rec.size)));
  }
}
