/**
 * `npm run demo:sharded`: the many-ranks demo. A job of --ranks rank
 * processes trains the plain-JS character model, each rank saving only its
 * slice of the weights and Adam moments; the storage alone binds the slices
 * into one checkpoint (no rank talks to another). A rank SIGKILLs itself
 * mid-save (its data written, its record not), the job dies, and it comes
 * back on --resume-ranks ranks, restoring slabs cut for the old world size;
 * then its leader is killed just before a commit and the job comes back
 * again. The final weights, the whole training state and every step's loss
 * must be bit-identical to an uninterrupted single-process run.
 */
import { posix as path } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { exitCodeFor, invalidArg } from '../../errors.js';
import { parseInteger } from '../../format/parse-integer.js';
import { PosixFileSystem } from '../../fs/posix-file-system.js';
import { openStore } from '../../store/open-store.js';
import { tensorMapSha256, trainStateSha256 } from '../../train/train-state.js';
import { loadCharCorpus } from '../char-corpus.js';
import { createCharLmModel } from '../char-lm-factory.js';
import { CharLmRun, charLmConfig } from '../char-lm-run.js';
import { prepareDemoDir } from '../demo-dir.js';
import { DEMO_CONTEXT_LENGTH } from './rank-worker.js';
import { runShardedJob, type Incarnation, type ShardedJobResult } from './sharded-job.js';

const DEFAULT_CORPUS = fileURLToPath(new URL('../../../../data/kelp-and-tide.txt', import.meta.url));

const HELP = `Usage: npm run demo:sharded -- [options]

Trains the plain-JS character model as a job of several rank processes, each
saving its own slice of the state through Holdfast's multi-rank protocol
(coordinated only through the store). One rank is SIGKILLed in the middle of
a save, the job resumes on another number of ranks from slabs cut for the old
one; its leader is SIGKILLed just before a commit, and the job resumes again.
Final weights, whole training state and loss curve must be bit-identical to
an uninterrupted single-process run.

Options:
  --steps N          training steps                              (default 200)
  --interval K       checkpoint every K steps                    (default 20)
  --ranks R          ranks of the first incarnation              (default 4)
  --resume-ranks Q   ranks after the first crash                 (default 3)
  --seed S           seed of the run                             (default 1)
  --store DIR        working directory, wiped at start           (default ./demo-sharded-store)
  --corpus FILE      UTF-8 training text                         (default data/kelp-and-tide.txt)
  --help             this text

Exit codes: 0 identical, 1 not identical or failure, 2 usage error.`;

export interface ShardedDemoOptions {
  steps: number;
  interval: number;
  ranks: number;
  resumeRanks: number;
  seed: number;
  store: string;
  corpus: string;
}

function parseOptions(argv: string[]): ShardedDemoOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        steps: { type: 'string' }, interval: { type: 'string' }, ranks: { type: 'string' }, 'resume-ranks': { type: 'string' },
        seed: { type: 'string' }, store: { type: 'string' }, corpus: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw invalidArg(`${(e as Error).message} (see --help)`);
  }
  if (values['help'] === true) return 'help';
  const int = (k: string, fallback: number, min: number): number => {
    const text = values[k];
    return typeof text === 'string' ? parseInteger(`--${k}`, text, min) : fallback;
  };
  const o: ShardedDemoOptions = {
    steps: int('steps', 200, 4),
    interval: int('interval', 20, 1),
    ranks: int('ranks', 4, 2),
    resumeRanks: int('resume-ranks', 3, 1),
    seed: int('seed', 1, 0),
    store: typeof values['store'] === 'string' ? values['store'] : './demo-sharded-store',
    corpus: typeof values['corpus'] === 'string' ? values['corpus'] : DEFAULT_CORPUS,
  };
  if (o.steps < 3 * o.interval) throw invalidArg(`--steps ${o.steps} must allow at least three checkpoints of --interval ${o.interval}`);
  return o;
}

/** The save nearest to `fraction` of the run (a multiple of the interval, before the last step). */
function saveNear(o: ShardedDemoOptions, fraction: number): number {
  return Math.min(Math.max(1, Math.round((o.steps * fraction) / o.interval)) * o.interval, Math.floor((o.steps - 1) / o.interval) * o.interval);
}

export function crashPlan(o: ShardedDemoOptions): Incarnation[] {
  const first = saveNear(o, 0.4);
  const second = Math.max(saveNear(o, 0.7), first + o.interval);
  return [
    { worldSize: o.ranks, dieAt: { rank: o.ranks - 1, step: first, phase: 'files-durable' } },
    { worldSize: o.resumeRanks, dieAt: { rank: 0, step: second, phase: 'manifest-ready' } },
    { worldSize: o.resumeRanks },
  ];
}

async function referenceRun(o: ShardedDemoOptions): Promise<{ losses: number[]; weightsSha256: string; stateSha256: string }> {
  const corpus = await loadCharCorpus(new PosixFileSystem(), o.corpus, { contextLength: DEMO_CONTEXT_LENGTH });
  const config = charLmConfig(corpus, { model: 'plain', totalSteps: o.steps, seed: o.seed });
  const run = new CharLmRun(corpus, config, await createCharLmModel(config));
  const losses: number[] = [];
  while (run.step < o.steps) losses.push(run.trainStep().loss);
  const final = await run.captureState();
  return { losses, weightsSha256: tensorMapSha256(final.weights), stateSha256: trainStateSha256(final) };
}

export async function runShardedDemo(o: ShardedDemoOptions, out: (line: string) => void): Promise<number> {
  const dir = await prepareDemoDir(new PosixFileSystem(), o.store);
  const store = path.join(dir, 'store');
  const plan = crashPlan(o);
  out('Holdfast sharded demo: many ranks, one commit, resumed on another world size');
  out(`  job       ${o.steps} steps, checkpoint every ${o.interval}; ${o.ranks} ranks, then ${o.resumeRanks}; store ${store}`);
  out(`  crashes   rank ${plan[0]!.dieAt!.rank} SIGKILLed at the save of step ${plan[0]!.dieAt!.step} after its data, before its record;`);
  out(`            the leader SIGKILLed at the save of step ${plan[1]!.dieAt!.step} with the manifest ready, before the commit`);
  const reference = await referenceRun(o);
  const job = await runShardedJob({ store, corpus: o.corpus, steps: o.steps, interval: o.interval, seed: o.seed, deadlineMs: 60_000 }, plan, (i, e) => {
    if (e.ev === 'resume' && e.rank === 0) out(`  incarnation ${i + 1} (${plan[i]!.worldSize} ranks): ${e.fromStep === null ? 'fresh start' : `resumed from step ${e.fromStep}, saved by ${e.savedWorldSize} ranks`}`);
    if (e.ev === 'saved' && e.rank === 0) out(`    committed step ${e.step}`);
    if (e.ev === 'dying') out(`    rank ${e.rank} SIGKILLed at step ${e.step} (${e.phase}); the job goes down`);
  });
  return report(o, reference, job, await checkpointsBy(store), out);
}

async function checkpointsBy(root: string): Promise<{ step: number; ranks: number; ok: boolean }[]> {
  const store = await openStore(root, { create: false });
  try {
    const verified = await store.verify();
    return await Promise.all(verified.map(async (v) => ({ step: v.step, ranks: (await store.inspect(v.step)).world.size, ok: v.ok })));
  } finally {
    await store.close();
  }
}

function report(o: ShardedDemoOptions, ref: Awaited<ReturnType<typeof referenceRun>>, job: ShardedJobResult, ckpts: { step: number; ranks: number; ok: boolean }[], out: (line: string) => void): number {
  const sameLoss = ref.losses.filter((l, i) => Object.is(l, job.losses[i])).length;
  const weights = job.final?.weightsSha256 === ref.weightsSha256;
  const state = job.final?.stateSha256 === ref.stateSha256;
  const verified = ckpts.every((c) => c.ok);
  out('');
  out(`  checkpoints in the store: ${ckpts.map((c) => `${c.step} (${c.ranks} ranks${c.ok ? '' : ', FAILED verification'})`).join(', ')}`);
  out(`  final weights sha256:     ${weights ? 'identical' : 'DIFFERENT'} to the single-process run`);
  out(`  whole train state sha256: ${state ? 'identical' : 'DIFFERENT'}`);
  out(`  loss curve:               ${sameLoss}/${o.steps} steps bit-identical`);
  for (const m of job.mismatches) out(`  mismatch: ${m}`);
  const ok = weights && state && sameLoss === o.steps && job.mismatches.length === 0 && verified;
  out('');
  out(ok ? 'VERDICT: IDENTICAL. Resumed twice, once on another world size, bit for bit.' : 'VERDICT: NOT IDENTICAL (see above).');
  return ok ? 0 : 1;
}

async function main(): Promise<void> {
  try {
    const o = parseOptions(process.argv.slice(2));
    if (o === 'help') {
      console.log(HELP);
      return;
    }
    process.exitCode = await runShardedDemo(o, (line) => console.log(line));
  } catch (e) {
    console.error(`holdfast sharded demo: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = exitCodeFor(e);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
