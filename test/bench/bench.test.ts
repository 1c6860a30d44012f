/**
 * `holdfast bench` smoke test: a `--quick` run completes, prints one JSON
 * document with every section, writes an offline HTML report with SVG charts,
 * and leaves nothing behind in its directory. Speed is never asserted.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { benchCommand } from '../../src/cli/commands/bench.js';
import type { BenchReport } from '../../src/bench/types.js';
import { makeWorkload, materialize } from '../../src/bench/workloads.js';
import { percentile } from '../../src/bench/stats.js';
import { tempDir } from '../helpers/temp-dir.js';
import { spawnHoldfast } from '../cli/helpers.js';

const MiB = 1024 * 1024;

test('bench --quick --workload small --json --report: one JSON report, an SVG page, an empty directory afterwards', async (t) => {
  const dir = tempDir(t);
  const out: string[] = [];
  const err: string[] = [];
  const html = join(dir, 'report.html');
  const code = await benchCommand.run(['--quick', '--workload', 'small', '--growth', '--dir', join(dir, 'b'), '--json', '--report', html], {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
  });
  assert.equal(code, 0);
  const report = JSON.parse(out.join('\n')) as BenchReport;
  assert.equal(report.workloads.length, 1);
  const w = report.workloads[0]!;
  assert.equal(w.name, 'small');
  assert.ok(w.save.some((m) => m.kind === 'holdfast' && m.mode === 'atomic_dirsync' && m.method === 'direct'));
  assert.ok(w.save.some((m) => m.kind === 'baseline'));
  assert.ok(w.restore.some((m) => m.kind === 'holdfast'));
  // The first save of a fresh process (a child per sample), cold and after store.warm(), and the restore into the caller's arrays.
  assert.equal(w.save.filter((m) => m.kind === 'holdfast' && /first save in a fresh process/.test(m.label)).length, 2);
  assert.ok(w.save.some((m) => /after store\.warm/.test(m.label) && /warm-up itself took \d+ ms/.test(m.note ?? '')));
  assert.ok(w.restore.some((m) => m.kind === 'holdfast' && /into \}/.test(m.label) && m.ratioToFreshRead !== undefined));
  // The machine's own limits sit beside fio: hashing, and reading into / touching fresh memory.
  assert.ok(w.save.some((m) => m.kind === 'limit' && /SHA-256/.test(m.label)));
  assert.ok(w.restore.some((m) => m.kind === 'limit' && /fresh memory/.test(m.label) && /read/.test(m.label)));
  assert.ok(w.restore.some((m) => m.kind === 'limit' && /first touch/.test(m.label)));
  assert.ok(w.freshReadLimit !== undefined && w.freshReadLimit > 0 && w.hashLimit !== undefined && w.hashLimit > 0);
  for (const m of w.restore.filter((x) => x.kind !== 'fio')) assert.ok(m.ratioToFreshRead !== undefined && m.ratioToFreshRead > 0, m.label);
  assert.equal(w.latency.length, 6);
  assert.ok(w.async !== undefined && w.async.steadyPauseMs >= 0 && w.async.reservedFirstPauseMs >= 0 && w.async.freshMemcpyMs > 0);
  for (const m of [...w.save, ...w.restore]) assert.ok(m.bytesPerSecond > 0, m.label);
  // Issue 13's rows: fio's async engines, Holdfast with and without libuv io_uring, aggregation on/off, staging budgets.
  const hasFio = report.fioCommands.length > 0;
  for (const engine of hasFio ? ['libaio', 'io_uring'] : []) {
    // Either measured at each depth, or refused by this kernel and said so.
    if (err.some((l) => l.includes(`fio ${engine} refused`))) continue;
    for (const qd of [1, 4, 16]) assert.ok(w.save.some((m) => m.kind === 'fio' && m.label.endsWith(`${engine} qd${qd}`)), `${engine} qd${qd}`);
  }
  for (const uv of ['UV_USE_IO_URING=0', 'UV_USE_IO_URING=1']) for (const method of ['direct', 'buffered']) {
    assert.ok(w.save.some((m) => m.label.includes(uv) && m.method === method), `save ${uv} ${method}`);
    assert.ok(w.restore.some((m) => m.label.includes(uv) && m.method === method), `restore ${uv} ${method}`);
  }
  assert.ok(w.save.some((m) => /aggregation off: one shard file per tensor \(shardSizeBytes 1; 200 shard files\)/.test(m.label)));
  assert.ok(w.restore.some((m) => /aggregated into shard files \(default; 1 shard file\)/.test(m.label)));
  const budgets = w.stagingBudget ?? [];
  assert.deepEqual(budgets.map((b) => b.budgetBytes), [null, 8 * MiB, 4 * MiB, 0]);
  assert.ok(budgets.every((b) => b.stagedBytes + b.deferredBytes === b.stateBytes && b.stagedBytes <= (b.budgetBytes ?? b.stateBytes) && b.peakRssBytes > b.stateBytes));
  // --growth: three sweeps of the seeded tiny configuration, each point measured.
  assert.deepEqual(report.growth?.sweeps.map((s) => [s.name, s.points.map((p) => p.x)]), [
    ['state size', [MiB, 2 * MiB, 4 * MiB]],
    ['tensor count', [10, 100, 1000]],
    ['checkpoints in the store', [10, 30]],
  ]);
  for (const s of report.growth!.sweeps) for (const p of s.points) assert.ok(p.a.length > 0 && p.b.length > 0 && [...p.a, ...p.b].every((x) => x > 0), `${s.name} ${p.x}`);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<svg/);
  assert.match(page, /How cost grows/);
  assert.match(page, /staging budget/);
  assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/);
  assert.deepEqual(readdirSync(join(dir, 'b')), []);
  assert.ok(existsSync(html));
});

test('bench refuses an unknown workload as a usage error', async () => {
  await assert.rejects(benchCommand.run(['--workload', 'huge'], { stdout: () => undefined, stderr: () => undefined }), (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
  // The real binary, once: the usage error is one stderr line and exit 2.
  const r = spawnHoldfast(['bench', '--workload', 'huge']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^holdfast bench: .*huge/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('LLM workloads have the shapes they claim and scale down to the size asked', () => {
  const gpt2 = makeWorkload('gpt2-small');
  const params = gpt2.tensors.filter((s) => s.name.startsWith('model.')).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  assert.ok(params > 120e6 && params < 130e6, `GPT-2 small has ≈124 M parameters, got ${params}`);
  assert.equal(gpt2.bytes, params * 14, 'BF16 weights + F32 master + two F32 moments');
  for (const max of [32 * 2 ** 20, 300 * 2 ** 20]) {
    for (const name of ['gpt2-small', '1b'] as const) assert.ok(makeWorkload(name, max).bytes <= max, `${name} within ${max}`);
  }
  const small = makeWorkload('small');
  const tensors = materialize(small, 3);
  assert.equal(Object.keys(tensors).length, 200);
  const t0 = Object.values(tensors)[0]!;
  assert.ok(new Uint8Array(t0.data.buffer).some((b) => b !== 0));
});

test('percentiles are nearest-rank', () => {
  const xs = [5, 1, 4, 2, 3];
  assert.equal(percentile(xs, 50), 3);
  assert.equal(percentile(xs, 90), 5);
  assert.equal(percentile(xs, 1), 1);
});
