/**
 * One rank of a multi-rank save (`ranks-rows.ts` starts W of these together).
 * Argument: one JSON object { dir, rank, worldSize, attempt, workload,
 * maxBytes?, step }. It builds its flat slice of every tensor of the workload
 * (not timed), opens the store as that rank (`openStore(dir, { rank,
 * worldSize, attempt })`) and warms it for its bytes, waits for `go`, then
 * saves and prints one JSON line of wall-clock times: start, its own files
 * and record written, the commit seen; the leader also when every record was
 * there and when its commit was done.
 */
import { openStore, type GlobalSlab, type RankPhase } from '../index.js';
import { cpuSecondsSince, nowMs, readyAndWaitForGo } from './barrier-children.js';
import { rankSlices, rankWorkload } from './rank-slices.js';
import { materialize } from './workloads.js';

export interface RankSaveArgs {
  dir: string;
  rank: number;
  worldSize: number;
  attempt: string;
  workload: string;
  maxBytes?: number;
  step: number;
}

export interface RankSaveTimes {
  rank: number;
  bytes: number;
  startMs: number;
  writtenMs: number;
  committedMs: number;
  /** CPU time of this process (every thread) from start to commit. */
  cpuSeconds: number;
  /** The committed checkpoint. */
  path: string;
  /** Leader only: every rank's record was found. */
  recordsCompleteMs?: number;
  /** Leader only: the manifest was committed. */
  leaderCommittedMs?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as RankSaveArgs;
const workload = rankWorkload(args.workload, args.maxBytes);
const slices = rankSlices(workload, args.rank, args.worldSize);
const data = materialize({ ...workload, tensors: slices.map((s) => ({ name: s.name, dtype: s.dtype, shape: [s.flat[1] - s.flat[0]] })) }, args.rank + 1);
const slabs: Record<string, GlobalSlab> = {};
for (const s of slices) slabs[s.name] = { globalShape: s.globalShape, flat: s.flat, tensor: data[s.name]! };
const bytes = slices.reduce((n, s) => n + s.bytes, 0);
const phases = new Map<RankPhase, number>();
const store = await openStore(args.dir, { rank: args.rank, worldSize: args.worldSize, attempt: args.attempt, onPhase: (p) => void phases.set(p, nowMs()) });
await store.warm(bytes);
await readyAndWaitForGo();
const cpu0 = process.cpuUsage();
const startMs = nowMs();
const handle = store.saveAsync(args.step, { slabs, state: { step: args.step } });
let writtenMs = 0;
await handle.written.then(() => (writtenMs = nowMs()));
const committed = await handle.committed;
const times: RankSaveTimes = { rank: args.rank, bytes, startMs, writtenMs, committedMs: nowMs(), cpuSeconds: cpuSecondsSince(cpu0), path: committed.path };
if (args.rank === 0) Object.assign(times, { recordsCompleteMs: phases.get('records-complete'), leaderCommittedMs: phases.get('committed') });
process.stdout.write(JSON.stringify(times) + '\n');
await store.close();
