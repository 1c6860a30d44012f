/**
 * One training process of the demo (and of the resume tests): resumes from
 * the newest valid checkpoint in `--store` (or starts fresh), verifies the
 * resume by recomputing the last batch's loss, trains the character-level
 * language model to `--steps`, checkpointing every `--interval` steps in the
 * background, and reports every step on stdout (`protocol.ts`) so a
 * supervisor can SIGKILL it at a chosen instant.
 *
 * Usage: node train-worker.js --store DIR --corpus FILE --model tfjs|plain
 *          --steps N --interval K --seed S [--stall-save STEP:pwrite|sync|rename]
 * Exit codes: 0 done; 1 failure; 2 usage; 3 post-resume check failed.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { invalidArg, isHoldfastError } from '../errors.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import type { FileSystem } from '../fs/file-system.js';
import { openStore } from '../store/open-store.js';
import { loadCharCorpus } from './char-corpus.js';
import { createCharLmModel } from './char-lm-factory.js';
import { CharLmRun, charLmConfig } from './char-lm-run.js';
import { Checkpointer } from '../train/checkpoint.js';
import { configHash, tensorMapSha256, trainStateFromRestore, trainStateSha256, trainStateToSaveInput } from '../train/train-state.js';
import { formatEvent, type WorkerEvent } from './protocol.js';
import { STALL_OPS, StallingFileSystem, type StallOp, type StallPlan } from './stalling-file-system.js';

/** Context characters the model sees; part of the demo's fixed recipe. */
const DEMO_CONTEXT_LENGTH = 8;

/** What defines one demo training run; the supervisor and every worker incarnation share it. */
export interface TrainingRunSpec {
  store: string;
  corpus: string;
  model: 'tfjs' | 'plain';
  steps: number;
  interval: number;
  seed: number;
}

interface WorkerOptions extends TrainingRunSpec {
  stall?: StallPlan;
}

function emit(e: WorkerEvent): void {
  process.stdout.write(formatEvent(e));
}

function int(name: string, text: string | undefined, min: number): number {
  const n = text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw invalidArg(`--${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

function parseWorkerArgs(argv: string[]): WorkerOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      store: { type: 'string' }, corpus: { type: 'string' }, model: { type: 'string' }, steps: { type: 'string' },
      interval: { type: 'string' }, seed: { type: 'string' }, 'stall-save': { type: 'string' },
    },
  });
  if (values.store === undefined || values.corpus === undefined) throw invalidArg('--store and --corpus are required');
  if (values.model !== 'tfjs' && values.model !== 'plain') throw invalidArg('--model must be tfjs or plain');
  const options: WorkerOptions = {
    store: values.store, corpus: values.corpus, model: values.model,
    steps: int('steps', values.steps, 1), interval: int('interval', values.interval, 1), seed: int('seed', values.seed, 0),
  };
  const stall = values['stall-save'];
  if (stall !== undefined) {
    const [step, op] = stall.split(':');
    if (!STALL_OPS.includes(op as StallOp)) throw invalidArg(`--stall-save op must be one of ${STALL_OPS.join(', ')}`);
    options.stall = { step: int('stall-save', step, 0), op: op as StallOp };
  }
  return options;
}

/**
 * Lets a background save make progress between synchronous training steps.
 * Each turn of the event loop runs only the I/O completions that are ready,
 * and a save is a chain of some thirty dependent file operations, so with a
 * bare `setImmediate` it advances one operation per training step. A 1 ms
 * timer instead parks the loop in its poll phase, where completions and the
 * operations they start are served back to back.
 */
const yieldToIo = (saving: boolean): Promise<void> =>
  new Promise((resolve) => (saving ? setTimeout(resolve, 1) : setImmediate(resolve)));

async function runWorker(o: WorkerOptions): Promise<number> {
  const posix = new PosixFileSystem();
  const fs: FileSystem = o.stall === undefined ? posix : new StallingFileSystem(posix, o.stall, (op, path) => emit({ ev: 'stalled', step: o.stall!.step, op, path }));
  const store = await openStore(o.store, { fs });
  const corpus = await loadCharCorpus(posix, o.corpus, { contextLength: DEMO_CONTEXT_LENGTH });
  const config = charLmConfig(corpus, { model: o.model, totalSteps: o.steps, seed: o.seed });
  const run = new CharLmRun(corpus, config, await createCharLmModel(config));
  emit({ ev: 'start', pid: process.pid, model: o.model, configHash: configHash(config), steps: o.steps, interval: o.interval });

  let restored: Awaited<ReturnType<typeof store.restore>> | null = null;
  try {
    restored = await store.restore();
  } catch (e) {
    if (!isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) throw e;
  }
  if (restored === null) {
    emit({ ev: 'resume', fromStep: null, skipped: [], check: null, config: null });
  } else {
    const { state, config: configCheck } = trainStateFromRestore(restored, { config });
    const check = await run.resume(state);
    emit({ ev: 'resume', fromStep: restored.step, skipped: restored.skipped, check, config: configCheck ?? null });
    if (!check.ok) return 3;
  }

  let snapshot = { copyMs: 0, bytes: 0 };
  const checkpointer = new Checkpointer(store, {
    onSnapshot: (_step, info) => {
      snapshot = info;
    },
    onCommitted: (r, elapsedMs) => emit({ ev: 'saved', step: r.step, bytes: r.bytes, elapsedMs }),
  }, { configHash: configHash(config) });
  while (run.step < o.steps) {
    const s = run.trainStep();
    emit({ ev: 'step', step: s.step, loss: s.loss, lr: s.lr, lossScale: s.lossScale });
    if (s.step % o.interval === 0 || s.step === o.steps) {
      const pauseStarted = performance.now();
      await checkpointer.save(s.step, trainStateToSaveInput(await run.captureState()));
      emit({ ev: 'save-begin', step: s.step, pauseMs: performance.now() - pauseStarted, copyMs: snapshot.copyMs, bytes: snapshot.bytes });
    }
    await yieldToIo(checkpointer.busy);
  }
  await checkpointer.flush();
  const final = await run.captureState();
  emit({ ev: 'done', step: final.step, weightsSha256: tensorMapSha256(final.weights), stateSha256: trainStateSha256(final) });
  run.model.dispose();
  return 0;
}

async function main(): Promise<void> {
  let code: number;
  try {
    code = await runWorker(parseWorkerArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`train-worker: ${e instanceof Error ? e.message : String(e)}\n`);
    code = isHoldfastError(e, 'HF_INVALID_ARG') ? 2 : 1;
  }
  process.exitCode = code;
}

// Run only as a program, so tests can import the parser.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
