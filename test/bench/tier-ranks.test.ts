/**
 * `holdfast bench --s3` and `--ranks` in a tiny configuration: every row is
 * produced with sane fields (bytes of the state, finite positive ratios, the
 * killed upload finished by `holdfast sync` to a copy that verifies), through
 * the real S3 server and real child processes. Speed is never asserted.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { benchCommand } from '../../src/cli/commands/bench.js';
import type { BenchReport } from '../../src/bench/types.js';
import { makeWorkload } from '../../src/bench/workloads.js';
import { isHoldfastError } from '../../src/errors.js';
import { withS3Bucket } from '../helpers/s3-bucket.js';
import { tempDir } from '../helpers/temp-dir.js';

const MiB = 2 ** 20;
const quiet = { stdout: () => undefined, stderr: () => undefined };

async function bench(dir: string, extra: string[]): Promise<BenchReport> {
  const out: string[] = [];
  const code = await benchCommand.run(['--quick', '--repeat', '1', '--workload', 'none', '--dir', dir, '--json', ...extra], { stdout: (l) => out.push(l), stderr: () => undefined });
  assert.equal(code, 0);
  assert.deepEqual(readdirSync(dir), [], 'the bench leaves nothing behind');
  return JSON.parse(out.join('\n')) as BenchReport;
}

const positive = (x: number | undefined, what: string): void => assert.ok(x !== undefined && Number.isFinite(x) && x > 0, `${what}: ${x}`);

test('bench --ranks: saves by 1, 2 and 4 rank processes beside fio, the leader commit, restore by 4 and by 3', async (t) => {
  const r = (await bench(join(tempDir(t), 'b'), ['--ranks'])).ranks!;
  const state = makeWorkload('gpt2-small', 24 * MiB).bytes;
  assert.equal(r.bytes, state);
  assert.deepEqual(r.saves.map((s) => s.worldSize), [1, 2, 4]);
  for (const s of r.saves) {
    assert.equal(s.bytes, state);
    for (const xs of [s.seconds, s.dataWriteSeconds, s.commitSeconds]) {
      assert.equal(xs.length, 1);
      positive(xs[0], `${s.worldSize} ranks`);
    }
    positive(s.bytesPerSecond, 'bandwidth');
    if (r.fioCommands.length > 0) positive(s.ratioToFio, `${s.worldSize} ranks of fio`);
  }
  if (r.fioCommands.length > 0) assert.ok(r.fioCommands.some((c) => c.includes('--numjobs=4')));
  assert.deepEqual(r.restores.map((x) => [x.savedBy, x.restoredBy]), [[4, 4], [4, 3]]);
  assert.equal(r.restores[0]!.ratioToSameWorld, 1);
  for (const x of r.restores) {
    assert.equal(x.bytes, state);
    positive(x.ratioToSameWorld, `restored by ${x.restoredBy}`);
  }
});

test('bench --s3-mib and --ranks-mib need their flag; --s3 needs an endpoint', async () => {
  await assert.rejects(benchCommand.run(['--s3-mib', '8'], quiet), (e) => isHoldfastError(e, 'HF_INVALID_ARG') && /--s3-mib needs --s3/.test(e.message));
  await assert.rejects(benchCommand.run(['--ranks-mib', '8'], quiet), (e) => isHoldfastError(e, 'HF_INVALID_ARG') && /--ranks-mib needs --ranks/.test(e.message));
  const saved = process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL;
  try {
    await assert.rejects(benchCommand.run(['--s3', '--workload', 'none'], quiet), (e) => isHoldfastError(e, 'HF_INVALID_ARG') && /AWS_ENDPOINT_URL/.test(e.message));
  } finally {
    if (saved !== undefined) process.env.AWS_ENDPOINT_URL = saved;
  }
});

withS3Bucket('bench --s3 against the real server', () => {
  test('bench --s3: S3 save/restore beside the SDK reference, the tiered pause, sync after a kill', async (t) => {
    const r = (await bench(join(tempDir(t), 'b'), ['--s3', '--s3-mib', '40'])).s3!;
    const state = makeWorkload('gpt2-small', 40 * MiB).bytes;
    assert.ok(r.bytes >= state && r.bytes < state + MiB, `checkpoint ${r.bytes} bytes for a state of ${state}`);
    for (const rows of [r.save, r.restore]) {
      assert.equal(rows.length, 3);
      assert.equal(rows[0]!.bytes, r.bytes);
      assert.equal(rows[1]!.bytes, r.bytes, 'the reference moves the same objects');
      positive(rows[2]!.ofReference, rows[2]!.label);
      positive(rows[0]!.ofReference, rows[0]!.label);
      for (const row of rows) positive(row.bytesPerSecond, row.label);
    }
    assert.equal(r.partBytes, 8 * MiB);
    assert.ok(r.pause.localMs.length >= 3 && r.pause.tieredMs.length === r.pause.localMs.length);
    for (const ms of [...r.pause.localMs, ...r.pause.tieredMs]) assert.ok(Number.isFinite(ms) && ms >= 0);
    const k = r.killSync;
    assert.equal(k.bytes, r.bytes);
    assert.ok(k.verified, 'the durable copy verifies after the sync');
    assert.ok(k.sentBytes >= 0 && k.sentBytes <= k.bytes, `sent ${k.sentBytes} of ${k.bytes}`);
    if (k.killed) assert.ok(k.killedAtBytes >= k.bytes / 2 && k.killedAtBytes <= k.bytes);
    positive(k.syncSeconds, 'sync');
  });
});
