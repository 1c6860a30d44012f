/**
 * One reader rank of a resharding restore (`ranks-rows.ts` starts W' of these
 * together). Argument: one JSON object { dir, rank, worldSize, step }. It
 * opens the store, reads the checkpoint's manifest, allocates and touches its
 * flat part of every tensor (as a resuming job's tensors already are; not
 * timed), waits for `go`, then restores into them with full verification
 * (`restore({ step, layout, into })`) and prints one JSON line { rank, bytes,
 * startMs, endMs }.
 */
import { openStore, type RestoreLayout, type TensorData } from '../index.js';
import { byteLengthOf, elementCount, typedArrayFor } from '../format/dtype.js';
import { cpuSecondsSince, nowMs, readyAndWaitForGo } from './barrier-children.js';
import { flatRange } from './rank-slices.js';

export interface RankRestoreArgs {
  dir: string;
  rank: number;
  worldSize: number;
  step: number;
}

export interface RankRestoreTimes {
  rank: number;
  bytes: number;
  startMs: number;
  endMs: number;
  /** CPU time of this process (every thread) during the restore. */
  cpuSeconds: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as RankRestoreArgs;
const store = await openStore(args.dir, { create: false });
const manifest = await store.inspect(args.step);
const layout: RestoreLayout = {};
const into: Record<string, TensorData> = {};
let bytes = 0;
for (const [name, t] of Object.entries(manifest.tensors)) {
  const flat = flatRange(elementCount(t.shape), args.rank, args.worldSize);
  const n = byteLengthOf(t.dtype, [flat[1] - flat[0]]);
  layout[name] = { flat };
  into[name] = typedArrayFor(t.dtype, new Uint8Array(n).fill(1));
  bytes += n;
}
await store.warm(bytes);
await readyAndWaitForGo();
const cpu0 = process.cpuUsage();
const startMs = nowMs();
await store.restore({ step: args.step, layout, into });
const times: RankRestoreTimes = { rank: args.rank, bytes, startMs, endMs: nowMs(), cpuSeconds: cpuSecondsSince(cpu0) };
process.stdout.write(JSON.stringify(times) + '\n');
await store.close();
