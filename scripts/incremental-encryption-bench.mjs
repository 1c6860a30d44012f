// What an encrypted incremental series costs and saves, saves interleaved run after run so load drifts
// hit every row alike: an encrypted full save; the same with `incremental, fullEvery: 1` (every save
// full, so the only difference is recording files[].encrypted.plainDigest: one SHA-256 pass over the
// plaintext on the main thread); an encrypted incremental save where everything changes (the candidate
// is hashed for the comparison, and that hash is reused for the digest recorded); and one with 75 % of
// the tensors frozen (bytes kept, not written). 4 MiB tensors, one per shard file.
// Usage: npx tsc -p . && node scripts/incremental-encryption-bench.mjs <scratch-dir> [saves=10] [MiB=128]
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../dist/src/index.js';

const [scratch, savesArg = '10', mibArg = '128'] = process.argv.slice(2);
if (scratch === undefined) throw new Error('usage: node scripts/incremental-encryption-bench.mjs <scratch-dir> [saves] [MiB]');
const MiB = 1024 * 1024;
const TENSOR = 4 * MiB;
const count = (Number(mibArg) * MiB) / TENSOR;
const frozen = Array.from({ length: count }, () => randomFillSync(new Uint8Array(TENSOR)));
const ROWS = [
  { name: 'encrypted, full', options: {}, frozenShare: 0 },
  { name: 'encrypted, incremental with fullEvery 1 (digest recorded, nothing compared)', options: { incremental: true, fullEvery: 1 }, frozenShare: 0 },
  { name: 'encrypted, incremental, everything changes', options: { incremental: true }, frozenShare: 0 },
  { name: 'encrypted, incremental, 75 % frozen', options: { incremental: true }, frozenShare: 0.75 },
];
const stores = [];
for (const row of ROWS) {
  const dir = mkdtempSync(join(scratch, 'incr-enc-'));
  stores.push({ dir, store: await openStore(dir, { encryption: { key: 'a benchmark secret of at least 32 bytes' }, shardSizeBytes: TENSOR }), ms: [], written: [] });
}
const saves = Number(savesArg);
for (let step = 1; step <= saves; step++) {
  const changed = Array.from({ length: count }, () => randomFillSync(new Uint8Array(TENSOR)));
  // Rotate the order each step, so no row always runs first.
  for (let k = 0; k < ROWS.length; k++) {
    const i = (k + step) % ROWS.length;
    const tensors = Object.fromEntries(changed.map((c, j) => [`t${String(j).padStart(4, '0')}`, { dtype: 'U8', shape: [TENSOR], data: j < count * ROWS[i].frozenShare ? frozen[j] : c }]));
    const t0 = performance.now();
    const r = await stores[i].store.save(step, { tensors }, ROWS[i].options);
    if (step > 1) {
      stores[i].ms.push(performance.now() - t0);
      stores[i].written.push(r.bytes - (r.keptBytes ?? 0));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`| save (${mibArg} MiB of 4 MiB tensors) | written per save (MiB) | save time, median of saves 2–${saves} (ms) |`);
console.log('| --- | ---: | ---: |');
ROWS.forEach((row, i) => console.log(`| ${row.name} | ${(median(stores[i].written) / MiB).toFixed(1)} | ${median(stores[i].ms).toFixed(0)} |`));
for (const s of stores) {
  await s.store.close();
  rmSync(s.dir, { recursive: true, force: true });
}
