/**
 * A training process whose upload is cut by SIGKILL (`s3-rows.ts` kills it).
 * Argument: one JSON object { local, durable, workload, maxBytes?, step,
 * killAtFraction }. It builds the state, saves it to the tiered store
 * `{ local, durable }` (the local commit, then the upload behind it) and
 * waits for the upload; once the upload's settled bytes pass `killAtFraction`
 * of the checkpoint it prints `uploading <done> <total>` (once) and goes on
 * uploading until the parent's SIGKILL lands. If the upload ends first, it
 * prints `finished`.
 */
import { openStore, type TieredStore } from '../index.js';
import { makeWorkload, materialize, parseWorkloadName } from './workloads.js';

export interface TierKillArgs {
  local: string;
  durable: string;
  workload: string;
  maxBytes?: number;
  step: number;
  killAtFraction: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as TierKillArgs;
const tensors = materialize(makeWorkload(parseWorkloadName(args.workload), args.maxBytes));
let told = false;
const store = (await openStore(
  { local: args.local, durable: args.durable },
  {
    onEvent: (e) => {
      if (told || e.type !== 'progress' || !e.phase.startsWith('upload') || e.doneBytes < args.killAtFraction * e.totalBytes) return;
      told = true;
      process.stdout.write(`uploading ${e.doneBytes} ${e.totalBytes}\n`);
    },
  },
)) as TieredStore;
await store.save(args.step, { tensors, state: { step: args.step } });
await store.flush();
process.stdout.write('finished\n');
await store.close();
