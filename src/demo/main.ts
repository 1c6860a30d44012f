/**
 * `npm start`: the Holdfast training demo. A character-level language model
 * (TensorFlow.js on the CPU backend, or the plain-JS model) trains on the
 * text in data/, checkpointing in the background every --interval steps.
 * Two copies of the same run go side by side: one uninterrupted, and one a
 * supervisor SIGKILLs --crashes times (at random steps and in the middle of
 * saves) and restarts from the newest valid checkpoint. At the end the final
 * weights' SHA-256, the whole training state's SHA-256 and the loss of every
 * step are compared; they must be identical, and the demo says whether they
 * are (exit code 0) or not (exit code 1). Usage errors exit with 2.
 */
import { posix as path } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exitCodeFor, invalidArg } from '../errors.js';
import { parseInteger } from '../format/parse-integer.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { compareRuns } from './compare-runs.js';
import { prepareDemoDir } from './demo-dir.js';
import { showRollbackOnCorruption } from './integrity-epilogue.js';
import { planCrashes } from './kill-plan.js';
import { ProgressPrinter } from './progress-printer.js';
import { superviseTraining, type SupervisedRun } from './supervisor.js';

const DEFAULT_CORPUS = fileURLToPath(new URL('../../../data/kelp-and-tide.txt', import.meta.url));

const HELP = `Usage: npm start -- [options]

Trains a small character-level language model and proves that Holdfast
resumes it bit for bit: the same run is done twice, once uninterrupted and
once SIGKILLed at random instants (also in the middle of saves) and resumed
from the newest valid checkpoint each time. Final weights, the whole training
state and the loss curve must be identical.

Options:
  --steps N       training steps (micro-batches) per run          (default 400)
  --interval K    checkpoint every K steps                        (default 25)
  --crashes C     SIGKILLs of the resumed run; every second one
                  lands in the middle of a save                   (default 4)
  --seed S        seed of the run and of the kill plan            (default 1)
  --model M       tfjs (TensorFlow.js CPU) or plain (plain JS)    (default tfjs)
  --store DIR     working directory, wiped at start               (default ./demo-store)
  --corpus FILE   UTF-8 training text                             (default data/kelp-and-tide.txt)
  --help          this text

Exit codes: 0 identical, 1 not identical or failure, 2 usage error.`;

interface DemoOptions {
  steps: number;
  interval: number;
  crashes: number;
  seed: number;
  model: 'tfjs' | 'plain';
  store: string;
  corpus: string;
  help: boolean;
}

function int(name: string, text: string | undefined, fallback: number, min: number): number {
  return text === undefined ? fallback : parseInteger(`--${name}`, text, min);
}

function parseDemoArgs(argv: string[]): DemoOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        steps: { type: 'string' }, interval: { type: 'string' }, crashes: { type: 'string' }, seed: { type: 'string' },
        model: { type: 'string' }, store: { type: 'string' }, corpus: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw invalidArg(`${(e as Error).message} (see --help)`);
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const model = str('model') ?? 'tfjs';
  if (model !== 'tfjs' && model !== 'plain') throw invalidArg(`--model must be tfjs or plain, got ${JSON.stringify(model)}`);
  const o: DemoOptions = {
    steps: int('steps', str('steps'), 400, 2),
    interval: int('interval', str('interval'), 25, 1),
    crashes: int('crashes', str('crashes'), 4, 0),
    seed: int('seed', str('seed'), 1, 0),
    model,
    store: str('store') ?? './demo-store',
    corpus: str('corpus') ?? DEFAULT_CORPUS,
    help: values['help'] === true,
  };
  if (o.crashes > o.steps - 1) throw invalidArg(`--crashes ${o.crashes} needs more than ${o.crashes} steps`);
  return o;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function short(sha: string): string {
  return sha.replace(/^sha256:/, '').slice(0, 16) + '…';
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await f();
  return { value, ms: Date.now() - t0 };
}

async function runDemo(o: DemoOptions, out: (line: string) => void): Promise<number> {
  const started = Date.now();
  const fs = new PosixFileSystem();
  const dir = await prepareDemoDir(fs, o.store);
  const plan = planCrashes({ steps: o.steps, crashes: o.crashes, seed: o.seed });
  const modelText = o.model === 'tfjs' ? 'TensorFlow.js (CPU backend): one-hot 8-char context → dense 64 tanh → softmax' : 'plain JS softmax regression over an 8-char one-hot context';
  out('Holdfast demo: bit-exact resume of a training run');
  out(`  model     ${modelText}; Adam, batch 32, 2 micro-batches per update, warm-up + cosine LR, dynamic loss scale, 5% input masking`);
  out(`  data      ${path.relative(process.cwd(), o.corpus) || o.corpus}`);
  out(`  run       ${o.steps} steps, checkpoint every ${o.interval} (in the background), seed ${o.seed}`);
  out(`  crashes   ${plan.map((c) => (c.kind === 'step' ? `step≈${c.atStep}` : `mid-save(${c.op})≈${c.atStep}`)).join(', ') || 'none'}`);
  out(`  stores    ${path.join(dir, 'reference')} (uninterrupted), ${path.join(dir, 'resumed')} (crashed)`);
  out('');
  out('Both runs start now, side by side. Crashed run:');
  const printer = new ProgressPrinter(o.interval, o.steps, (line) => out(line));
  const common = { corpus: o.corpus, model: o.model, steps: o.steps, interval: o.interval, seed: o.seed };
  const [reference, resumed] = await Promise.all([
    timed(() => superviseTraining({ ...common, store: path.join(dir, 'reference'), crashes: [] })),
    timed(() => superviseTraining({ ...common, store: path.join(dir, 'resumed'), crashes: plan, onEvent: (e) => printer.handle(e) })),
  ]);
  printer.finish();
  const code = report(reference.value, reference.ms, resumed.value, resumed.ms, Date.now() - started, out);
  const rolledBack = await showRollbackOnCorruption(fs, path.join(dir, 'resumed'), out);
  return rolledBack ? code : 1;
}

function report(ref: SupervisedRun, refMs: number, res: SupervisedRun, resMs: number, totalMs: number, out: (line: string) => void): number {
  const c = compareRuns(ref, res);
  const midSave = res.incarnations.filter((r) => r.killed && r.armed?.kind === 'mid-save').length;
  const checks = res.incarnations.filter((r) => r.check !== null && !r.check.skipped);
  const checksOk = checks.every((r) => r.check!.ok);
  const mark = (ok: boolean): string => (ok ? 'identical' : 'DIFFERENT');
  out('');
  out(`Uninterrupted run: 1 process, ${ref.losses.length} steps in ${seconds(refMs)}; final loss ${ref.losses.at(-1)?.toFixed(4)}`);
  out(`Crashed run:       ${res.incarnations.length} processes, ${res.crashesDone} SIGKILLs (${midSave} mid-save), ${res.replayedSteps} steps recomputed, in ${seconds(resMs)}`);
  out(`  post-resume checks: ${checks.length} of ${checks.length} resumes recomputed the last batch's loss ${checksOk ? 'bit-exactly' : 'WRONG'}`);
  out(`  replayed steps:     ${res.replayMismatches.length === 0 ? 'every recomputed step gave the same loss as before the crash' : `${res.replayMismatches.length} differed`}`);
  out(`  final weights sha256:      ${short(ref.weightsSha256)} vs ${short(res.weightsSha256)}  ${mark(c.weightsEqual)}`);
  out(`  whole train state sha256:  ${short(ref.stateSha256)} vs ${short(res.stateSha256)}  ${mark(c.stateEqual)}  (weights, Adam moments + step, RNG, data position, LR schedule, loss scale, accumulation)`);
  out(`  loss curve:                ${c.stepsEqual}/${c.stepsCompared} steps bit-identical${c.firstLossMismatch === null ? '' : `; first difference at step ${c.firstLossMismatch.step}`}`);
  out('');
  const identical = c.identical && checksOk;
  out(identical
    ? `VERDICT: IDENTICAL. Killed ${res.crashesDone} times, the run ended bit for bit where the uninterrupted run did. (${seconds(totalMs)} total)`
    : 'VERDICT: NOT IDENTICAL. The resumed run left the uninterrupted trajectory (see above).');
  return identical ? 0 : 1;
}

async function main(): Promise<void> {
  try {
    const o = parseDemoArgs(process.argv.slice(2));
    if (o.help) {
      console.log(HELP);
      return;
    }
    process.exitCode = await runDemo(o, (line) => console.log(line));
  } catch (e) {
    console.error(`holdfast demo: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = exitCodeFor(e);
  }
}

await main();
