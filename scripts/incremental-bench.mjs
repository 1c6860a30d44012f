// Bytes and time an incremental save saves, against a full save of the same state, on two workloads:
// "frozen" (an embedding and half the layers never change, as in fine-tuning with frozen layers) and
// "all-change" (every tensor changes every step: the overhead of looking for reuse).
// Usage: npx tsc -p . && node scripts/incremental-bench.mjs <scratch-dir> [saves=6] [MiB=256]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../dist/src/index.js';

const [scratch, savesArg = '6', mibArg = '256'] = process.argv.slice(2);
if (scratch === undefined) throw new Error('usage: node scripts/incremental-bench.mjs <scratch-dir> [saves] [MiB]');
const saves = Number(savesArg);
const totalMiB = Number(mibArg);

/** An embedding of half the state and 8 layers sharing the other half; `frozen` names which never change. */
function makeState() {
  const layerElems = ((totalMiB / 2 / 8) * 1024 * 1024) / 4;
  const tensors = { embed: new Float32Array(((totalMiB / 2) * 1024 * 1024) / 4) };
  for (let i = 0; i < 8; i++) tensors[`layer${i}`] = new Float32Array(layerElems);
  for (const t of Object.values(tensors)) for (let j = 0; j < t.length; j++) t[j] = (j % 997) / 997;
  return tensors;
}

function touch(tensors, names, step) {
  for (const n of names) {
    const t = tensors[n];
    for (let j = 0; j < t.length; j += 1024) t[j] += step; // a strided update changes every 4 KiB page
  }
}

async function run(workload, incremental) {
  const dir = mkdtempSync(join(scratch, `${workload}-${incremental ? 'inc' : 'full'}-`));
  const store = await openStore(dir);
  const state = makeState();
  const names = Object.keys(state);
  const changing = workload === 'frozen' ? names.filter((n) => n !== 'embed' && Number(n.slice(5)) >= 4) : names;
  const rows = [];
  for (let step = 1; step <= saves; step++) {
    if (step > 1) touch(state, changing, step);
    const input = { tensors: Object.fromEntries(Object.entries(state).map(([n, d]) => [n, { dtype: 'F32', shape: [d.length], data: d }])), state: { step } };
    const t0 = performance.now();
    const r = await store.save(step, input, incremental ? { incremental: true } : {});
    rows.push({ ms: performance.now() - t0, written: r.bytes - (r.keptBytes ?? 0), total: r.bytes });
  }
  const t0 = performance.now();
  await store.restore();
  const restoreMs = performance.now() - t0;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const later = rows.slice(1); // the first save of a series is full either way
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { workload, mode: incremental ? 'incremental' : 'full', saveMs: median(later.map((r) => r.ms)), written: median(later.map((r) => r.written)), total: later[0].total, restoreMs };
}

const mib = (b) => (b / 1024 / 1024).toFixed(1);
console.log(`| workload | save | written per save (MiB) | of state (MiB) | save time, median of saves 2–${saves} (ms) | restore newest (ms) |`);
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const workload of ['frozen', 'all-change']) {
  for (const incremental of [false, true]) {
    const r = await run(workload, incremental);
    console.log(`| ${r.workload} | ${r.mode} | ${mib(r.written)} | ${mib(r.total)} | ${r.saveMs.toFixed(0)} | ${r.restoreMs.toFixed(0)} |`);
  }
}
