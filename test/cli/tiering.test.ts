// The tiering commands: `replicate`, `sync`, tiered stores named LOCAL::DURABLE in every command,
// `ls` with a TIER column, and progress (bytes, rate, time left) only on a terminal.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { TransferMeter, describeTransfer } from '../../src/cli/transfer-meter.js';
import { withS3Bucket } from '../helpers/s3-bucket.js';
import { ckptDir, commit, expectExit, expectSpawnExit, inputs, tempDir } from './helpers.js';

const MiB = 2 ** 20;

test('progress: bytes, percentage, rate and time left; drawn only where io.progress exists (a terminal)', () => {
  assert.equal(describeTransfer({ doneBytes: 50 * MiB, totalBytes: 100 * MiB }, 5), '50.0 MiB / 100.0 MiB (50%), 10.0 MiB/s, 5 s left');
  let clock = 0;
  const drawn: string[] = [];
  const meter = new TransferMeter({ stdout: () => undefined, stderr: () => undefined, progress: (t) => drawn.push(t) }, () => clock);
  clock = 2000;
  meter.update('upload 7', { doneBytes: 20 * MiB, totalBytes: 40 * MiB });
  clock = 2050; // within 100 ms of the last draw: not redrawn
  meter.update('upload 7', { doneBytes: 21 * MiB, totalBytes: 40 * MiB });
  clock = 4000;
  meter.update('upload 7', { doneBytes: 40 * MiB, totalBytes: 40 * MiB });
  assert.deepEqual(drawn, ['upload 7: 20.0 MiB / 40.0 MiB (50%), 10.0 MiB/s, 2 s left', 'upload 7: 40.0 MiB / 40.0 MiB (100%), 10.0 MiB/s, 0 s left']);
  assert.equal(meter.summary(40 * MiB), '40.0 MiB sent in 4.0 s (10.0 MiB/s)');
  const silent = new TransferMeter({ stdout: () => undefined, stderr: () => assert.fail('no progress on a pipe') });
  silent.update('upload 7', { doneBytes: 1, totalBytes: 2 });
});

test('replicate local → local: a line per step and a final line on stderr; with --json one document and nothing else', async () => {
  const dir = tempDir();
  const { a, b } = inputs(dir);
  const from = join(dir, 'from');
  await commit(from, 1, [a]);
  await commit(from, 2, [a, b]);
  const to = join(dir, 'to');
  const r = await expectExit(['replicate', from, to], 0);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['holdfast replicate: step 1 copied', 'holdfast replicate: step 2 copied']);
  assert.match(lines[2]!, /^holdfast replicate: 2 checkpoint\(s\), .* sent in [\d.]+ s/);
  assert.ok(readFileSync(join(ckptDir(to, 2), 'b.bin')).equals(readFileSync(b)));
  const again = await expectExit(['replicate', from, to, '--json'], 0);
  assert.equal(again.stderr, '');
  const doc = JSON.parse(again.stdout) as { results: { step: number; outcome: string }[]; sentBytes: number };
  assert.deepEqual(doc.results.map((x) => x.outcome), ['present', 'present']);
  assert.equal(doc.sentBytes, 0);
});

test('replicate: a conflicting step exits 1 and names it; sync refuses a store that is not LOCAL::DURABLE', async () => {
  const dir = tempDir();
  const { a, b } = inputs(dir);
  const from = join(dir, 'from');
  const to = join(dir, 'to');
  await commit(from, 3, [a]);
  await commit(to, 3, [b]);
  const r = await expectExit(['replicate', from, to], 1);
  assert.match(r.stderr, /step 3 conflict: .* holds another checkpoint at step 3/);
  await expectExit(['sync', from], 2);
});

withS3Bucket('tiering commands against a real S3 server', (bucket) => {
  test('commit to LOCAL::s3 uploads before exiting; ls shows the tier; restore serves a replaced node from S3', () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const local = join(dir, 'local');
    const spec = `${local}::s3://${bucket}/cli-tiered`;
    expectSpawnExit(['commit', spec, '--step', '1', a, b], 0);
    const listed = JSON.parse(expectSpawnExit(['ls', spec, '--json'], 0).stdout) as { step: number; tier: string }[];
    assert.deepEqual(listed.map((c) => [c.step, c.tier]), [[1, 'durable']]);
    const table = expectSpawnExit(['ls', spec], 0).stdout.split('\n');
    assert.match(table[0]!, /STEP\s+SIZE\s+FILES\s+CREATED\s+TAGS\s+TIER/);
    assert.match(table[1]!, /durable$/);
    rmSync(local, { recursive: true });
    const out = join(dir, 'out');
    expectSpawnExit(['restore', spec, '--to', out], 0);
    assert.ok(readFileSync(join(out, 'b.bin')).equals(readFileSync(b)));
    const after = JSON.parse(expectSpawnExit(['ls', spec, '--json'], 0).stdout) as { tier: string }[];
    assert.deepEqual(after.map((c) => c.tier), ['durable-only']);
  });

  test('sync uploads what a manual save left local; the second sync sends nothing', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const local = join(dir, 'local');
    await commit(local, 5, [a]);
    const spec = `${local}::s3://${bucket}/cli-sync`;
    const before = JSON.parse(expectSpawnExit(['ls', spec, '--json'], 0).stdout) as { tier: string }[];
    assert.deepEqual(before.map((c) => c.tier), ['local']);
    const first = JSON.parse(expectSpawnExit(['sync', spec, '--json'], 0).stdout) as { results: { outcome: string }[] };
    assert.deepEqual(first.results.map((r) => r.outcome), ['copied']);
    const second = expectSpawnExit(['sync', spec], 0);
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /^holdfast sync: 0 checkpoint\(s\), 0 B; 0 B sent in/m);
  });
});
