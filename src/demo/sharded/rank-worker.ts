/**
 * One rank of the sharded demo job, as its own process:
 *
 *   node rank-worker.js <spec JSON>
 *
 * Every rank trains the same plain-JS model on the same data (the updates
 * are deterministic and elementwise, so every rank holds identical state;
 * Node has no collective library to split the compute), and at each interval
 * saves only its slice of the state through the multi-rank protocol
 * (`openStore(…, { rank, worldSize, attempt })`): no rank talks to another,
 * the storage binds the slices into one checkpoint. At start every rank
 * restores the newest checkpoint, whatever world size wrote it: its slabs are
 * reassembled and verified. `dieAt` makes the rank SIGKILL itself at a given
 * save and protocol phase, the way a node failure would.
 * Prints one JSON event per line on stdout.
 */
import { pathToFileURL } from 'node:url';
import { isHoldfastError } from '../../errors.js';
import { PosixFileSystem } from '../../fs/posix-file-system.js';
import { openStore } from '../../store/open-store.js';
import type { RankPhase } from '../../store/rank-store.js';
import { configHash, tensorMapSha256, trainStateFromRestore, trainStateSha256, trainStateToSaveInput } from '../../train/train-state.js';
import { loadCharCorpus } from '../char-corpus.js';
import { createCharLmModel } from '../char-lm-factory.js';
import { CharLmRun, charLmConfig } from '../char-lm-run.js';
import { rankSaveInput } from './rank-slices.js';

export const DEMO_CONTEXT_LENGTH = 8;

export interface RankWorkerSpec {
  store: string;
  corpus: string;
  steps: number;
  interval: number;
  seed: number;
  rank: number;
  worldSize: number;
  /** Shared by the ranks of one job incarnation. */
  attempt: string;
  /** How long the leader waits for every rank's record. */
  deadlineMs: number;
  dieAt?: { step: number; phase: RankPhase };
}

export type RankEvent =
  | { ev: 'resume'; rank: number; fromStep: number | null; savedWorldSize: number | null; ok: boolean }
  | { ev: 'step'; rank: number; step: number; loss: number }
  | { ev: 'saved'; rank: number; step: number }
  | { ev: 'dying'; rank: number; step: number; phase: RankPhase }
  | { ev: 'done'; rank: number; step: number; weightsSha256: string; stateSha256: string };

function emit(e: RankEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

export async function runRank(spec: RankWorkerSpec): Promise<number> {
  const { rank } = spec;
  let saving: number | null = null;
  const store = await openStore(spec.store, {
    rank,
    worldSize: spec.worldSize,
    attempt: spec.attempt,
    deadlineMs: spec.deadlineMs,
    onPhase: (phase) => {
      if (spec.dieAt !== undefined && saving === spec.dieAt.step && phase === spec.dieAt.phase) {
        emit({ ev: 'dying', rank, step: saving, phase });
        process.kill(process.pid, 'SIGKILL');
      }
    },
  });
  const corpus = await loadCharCorpus(new PosixFileSystem(), spec.corpus, { contextLength: DEMO_CONTEXT_LENGTH });
  const config = charLmConfig(corpus, { model: 'plain', totalSteps: spec.steps, seed: spec.seed });
  const run = new CharLmRun(corpus, config, await createCharLmModel(config));
  try {
    const restored = await store.restore();
    const check = await run.resume(trainStateFromRestore(restored, { config }).state);
    emit({ ev: 'resume', rank, fromStep: restored.step, savedWorldSize: restored.savedWorldSize, ok: check.ok });
    if (!check.ok) return 3;
  } catch (e) {
    if (!isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) throw e;
    emit({ ev: 'resume', rank, fromStep: null, savedWorldSize: null, ok: true });
  }
  while (run.step < spec.steps) {
    const s = run.trainStep();
    emit({ ev: 'step', rank, step: s.step, loss: s.loss });
    if (s.step % spec.interval !== 0 && s.step !== spec.steps) continue;
    const { tensors, state } = trainStateToSaveInput(await run.captureState());
    saving = s.step;
    await store.save(s.step, rankSaveInput(tensors, state, rank, spec.worldSize), { configHash: configHash(config) });
    saving = null;
    emit({ ev: 'saved', rank, step: s.step });
  }
  const final = await run.captureState();
  emit({ ev: 'done', rank, step: final.step, weightsSha256: tensorMapSha256(final.weights), stateSha256: trainStateSha256(final) });
  await store.close();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = await runRank(JSON.parse(process.argv[2] ?? '') as RankWorkerSpec);
  } catch (e) {
    process.stderr.write(`rank-worker: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
