/**
 * One sample of "the first save of a fresh process" (`fresh-process-steps.ts`
 * spawns this file once per sample). Argument: one JSON object { workload,
 * maxBytes?, store, step, warm }. It builds the workload's tensors (not
 * timed), opens the store, with `warm` calls `store.warm(bytes)` (timed
 * apart), then times the first `store.save` of its life and prints one JSON
 * line { saveSeconds, warmSeconds, path, bytes } before closing the store.
 */
import { openStore } from '../index.js';
import { makeWorkload, materialize, parseWorkloadName } from './workloads.js';

export interface FirstSaveArgs {
  workload: string;
  maxBytes?: number;
  store: string;
  step: number;
  warm: boolean;
}

export interface FirstSaveResult {
  saveSeconds: number;
  /** 0 without `warm`. */
  warmSeconds: number;
  path: string;
  bytes: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as FirstSaveArgs;
const workload = makeWorkload(parseWorkloadName(args.workload), args.maxBytes);
const tensors = materialize(workload);
const store = await openStore(args.store);
let t = performance.now();
if (args.warm) await store.warm(workload.bytes);
const warmSeconds = args.warm ? (performance.now() - t) / 1000 : 0;
t = performance.now();
const saved = await store.save(args.step, { tensors, state: { step: args.step } });
const result: FirstSaveResult = { saveSeconds: (performance.now() - t) / 1000, warmSeconds, path: saved.path, bytes: saved.bytes };
process.stdout.write(JSON.stringify(result) + '\n');
await store.close();
