import assert from 'node:assert/strict';
import { posix as path } from 'node:path';
import test from 'node:test';
import { writeNewFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { openStore } from '../../src/store/open-store.js';
import { DURABILITY_MODES } from '../../src/store/types.js';
import type { CampaignResult } from '../../src/torture/campaign.js';
import type { KillTrialRecord } from '../../src/torture/kill-campaign.js';
import { contentDigest, contentShape, expectedDigest, killContent } from '../../src/torture/kill-content.js';
import { inspectAfterKill } from '../../src/torture/kill-inspect.js';
import { drawKillPlan } from '../../src/torture/kill-plan.js';
import { KillTriggerFileSystem, parseKillAfterOp } from '../../src/torture/kill-trigger-file-system.js';
import { runCampaign } from '../../src/torture/run-campaign.js';
import { tempDir } from '../helpers/temp-dir.js';

const row = (r: CampaignResult, group: string) => r.rows.find((x) => x.group === group)!;

test('quick kill campaign: no torn load in any mode; atomic modes keep the newest commit and never show a partial checkpoint', async (t) => {
  const records: KillTrialRecord[] = [];
  const r = await runCampaign({ name: 'kill', full: false, seed: 1, workDir: tempDir(t), onTrial: (x) => records.push(x as KillTrialRecord) });
  assert.deepEqual(r.violations, [], r.violations.map((v) => `${v.description}\n  ${v.replay}`).join('\n'));
  for (const mode of DURABILITY_MODES) {
    const noTorn = row(r, `${mode} · no torn load`);
    assert.equal(noTorn.trials, 20);
    assert.equal(noTorn.outcomes['torn-returned'], 0, mode);
    assert.equal(noTorn.outcomes['restore-error'], 0, mode);
    assert.equal(noTorn.guarantee.k, noTorn.guarantee.n, mode);
  }
  for (const mode of ['atomic_nodirsync', 'atomic_dirsync'] as const) {
    for (const part of ['newest kept', 'on disk']) {
      const x = row(r, `${mode} · ${part}`);
      assert.equal(x.required, true);
      assert.equal(x.guarantee.k, x.guarantee.n, `${x.group}: ${JSON.stringify(x.outcomes)}`);
    }
  }
  // The campaign has teeth: unsafe writes under the final name, and the seeded plans kill it mid-save.
  const unsafeDisk = row(r, 'unsafe · on disk');
  assert.equal(unsafeDisk.required, false);
  assert.ok(unsafeDisk.guarantee.k < unsafeDisk.guarantee.n, `unsafe left no partial checkpoint in 20 kills: ${JSON.stringify(unsafeDisk.outcomes)}`);
  assert.ok(records.some((x) => x.begun.some((s) => !x.committed.includes(s))), 'some kills land inside a save');
  assert.ok(records.every((x) => x.endedBy !== 'timeout'));
});

test('kill plans are drawn from the seed, and only name calls the mode makes', () => {
  for (const mode of DURABILITY_MODES) {
    const plans = Array.from({ length: 200 }, (_, i) => drawKillPlan(5, 0, i, mode));
    assert.deepEqual(plans, Array.from({ length: 200 }, (_, i) => drawKillPlan(5, 0, i, mode)));
    const kinds = new Set(plans.map((p) => p.kind));
    assert.deepEqual([...kinds].sort(), ['after-commit', 'after-op', 'uniform']);
    const ops = new Set(plans.flatMap((p) => (p.kind === 'after-op' ? [p.op.kind] : [])));
    if (mode === 'unsafe') for (const never of ['sync', 'syncdir', 'rename']) assert.equal(ops.has(never as never), false, `unsafe never calls ${never}`);
    if (mode === 'atomic_nodirsync') assert.equal(ops.has('syncdir'), false);
    if (mode === 'atomic_dirsync') for (const must of ['sync', 'syncdir', 'rename']) assert.ok(ops.has(must as never), `${must} is a kill point`);
  }
});

test("the child's content is a pure function of (seed, step), and the digest sees every byte", () => {
  const a = killContent(3, 41);
  const b = killContent(3, 41);
  assert.equal(contentDigest(a.tensors, a.state), contentDigest(b.tensors, b.state));
  assert.equal(expectedDigest(3, 41), contentDigest(a.tensors, a.state));
  assert.notEqual(expectedDigest(3, 42), expectedDigest(3, 41));
  assert.notEqual(expectedDigest(4, 41), expectedDigest(3, 41));
  const name = Object.keys(a.tensors)[0]!;
  const bytes = new Uint8Array(a.tensors[name]!.data.buffer);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
  assert.notEqual(contentDigest(a.tensors, a.state), contentDigest(b.tensors, b.state));
  // The seeded mix: mostly small, some tens of MiB; 2–4 shard files.
  const shapes = Array.from({ length: 2000 }, (_, step) => contentShape(1, step));
  const large = shapes.filter((s) => s.band === 'large').length;
  assert.ok(large > 40 && large < 200, `${large} large of 2000`);
  assert.ok(shapes.every((s) => s.files >= 2 && s.files <= 4 && s.totalBytes >= 16 * 1024 && s.totalBytes <= 40 * 1024 * 1024));
});

test('the planner cuts the kill content into the drawn number of shard files', async () => {
  const fs = new MemoryFileSystem();
  for (const step of [1, 2, 3, 4, 5]) {
    const c = killContent(9, step);
    if (c.totalBytes > 4 * 1024 * 1024) continue;
    const store = await openStore('/s', { fs, shardSizeBytes: c.shardSizeBytes });
    const saved = await store.save(step, { tensors: c.tensors, state: c.state });
    assert.equal(saved.files, c.files, `step ${step}`);
    const restored = await store.restore(step);
    assert.equal(contentDigest(restored.tensors, restored.state), expectedDigest(9, step));
  }
});

test('the kill trigger fires right after the n-th call of its kind, and not before it is armed', async () => {
  let killedAfter: string | undefined;
  const calls: string[] = [];
  const fs = new KillTriggerFileSystem(new MemoryFileSystem(), parseKillAfterOp('syncdir:2'), () => {
    killedAfter = calls.at(-1);
  });
  await fs.mkdir('/d');
  await fs.syncDir('/d'); // before arm(): not counted
  fs.arm();
  for (const step of ['a', 'b', 'c']) {
    await fs.mkdir(`/d/${step}`);
    await fs.syncDir('/d');
    calls.push(`syncDir after ${step}`);
  }
  assert.equal(killedAfter, 'syncDir after a'); // the callback ran inside the 2nd counted syncDir, before the push of 'b'
  assert.throws(() => parseKillAfterOp('fsync:0'), RangeError);
  assert.throws(() => parseKillAfterOp('teleport:1'), RangeError);
});

test('what a kill leaves on disk is classified before restore: staging, incomplete dir, torn manifest', async () => {
  const fs = new MemoryFileSystem();
  const store = await openStore('/s', { fs, durability: 'unsafe' });
  await store.save(1, { state: { step: 1 } });
  assert.equal((await inspectAfterKill(fs, store, [1])).label, 'clean');
  await fs.mkdir('/s/.staging');
  await fs.mkdir('/s/.staging/000000000002-abc');
  assert.equal((await inspectAfterKill(fs, store, [2])).label, 'staging-leftover');
  await fs.mkdir('/s/ckpt-000000000002');
  await writeNewFile(fs, '/s/ckpt-000000000002/r0000-p000.safetensors', new Uint8Array(100), { sync: false });
  const incomplete = await inspectAfterKill(fs, store, [2]);
  assert.equal(incomplete.label, 'incomplete-dir');
  assert.match(incomplete.details.join('\n'), /no manifest/);
  await writeNewFile(fs, path.join('/s/ckpt-000000000002', 'manifest.json'), new Uint8Array(0), { sync: false });
  assert.equal((await inspectAfterKill(fs, store, [2])).label, 'torn-manifest');
  // Restore ignores all of it and returns the committed step.
  assert.equal((await store.restore()).step, 1);
});
