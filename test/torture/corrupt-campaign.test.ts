import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { SeededRandom } from '../../src/fs/seeded-random.js';
import type { CampaignResult } from '../../src/torture/campaign.js';
import { runCorruptCampaign, selectVariants, trialsPerVariant, type CorruptTrialRecord } from '../../src/torture/corrupt-campaign.js';
import { buildCorruptFixture } from '../../src/torture/corrupt-fixture.js';
import { FAULT_VARIANTS, findFaultVariant } from '../../src/torture/corruption/index.js';
import { runCampaign } from '../../src/torture/run-campaign.js';
import { tempDir } from '../helpers/temp-dir.js';
import { holdfast } from '../cli/helpers.js';
import { assertQuickCorruptRun, row } from './quick-corrupt-run.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('quick corrupt campaign: 100 % detected, rolled back bit-exact, no false alarm', async (t) => {
  const records: CorruptTrialRecord[] = [];
  const r = await runCampaign({ name: 'corrupt', full: false, seed: 20240611, workDir: tempDir(t), onTrial: (x) => records.push(x as CorruptTrialRecord) });
  const faults = assertQuickCorruptRun(r);
  assert.ok(r.counters['cleanVerifications']! >= faults.trials);
  // Every variant ran, and every trial is recorded as (seed, class, file, offset, length).
  assert.equal(new Set(records.map((x) => x.variant)).size, FAULT_VARIANTS.length);
  for (const x of records) {
    assert.equal(x.seed, 20240611);
    assert.ok(x.file.length > 0 && Number.isSafeInteger(x.offset) && Number.isSafeInteger(x.length), JSON.stringify(x));
  }
});

test('consistent rewrites (+resealed, +rehashed) are still caught, by the size, header or __metadata__ checks', async (t) => {
  const r = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 6, seed: 5, workDir: tempDir(t), variants: ['manifest-edit/size+resealed', 'manifest-edit/hash+resealed', 'manifest-edit/byte-range+resealed', 'stale/shard+rehashed', 'C13'] });
  assert.deepEqual(r.violations, []);
  assert.equal(row(r, 'stale/shard+rehashed').outcomes['foreign-shard'], 6, 'only the shard metadata can tell a stale shard whose hash was rebound');
  assert.equal(row(r, 'manifest-edit/hash+resealed').outcomes['hash'], 6);
  for (const x of r.rows.filter((x) => x.group.startsWith('header-edit/'))) {
    assert.equal(x.outcomes['bad-manifest'] ?? 0, 0, `${x.group}: the rebound manifest is valid, so the header checks must be what catches it`);
  }
});

test('undetectable variants are reported, never counted as misses', async (t) => {
  const r = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 3, seed: 9, workDir: tempDir(t), variants: ['rollback/newest-deleted', 'manifest-edit/state+resealed'] });
  assert.deepEqual(r.violations, []);
  for (const x of r.rows.filter((x) => x.trials === 3)) {
    assert.equal(x.required, false, x.group);
    assert.equal(x.outcomes['not-flagged'], 3, x.group);
  }
  assert.equal(row(r, 'rollback/newest-deleted').outcomes['restored:200'], 3);
});

test('the same consistent rewrite is caught when the reader holds the signing key', async (t) => {
  const r = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 3, seed: 9, workDir: tempDir(t), variants: ['manifest-edit/signed-state+resealed'] });
  assert.deepEqual(r.violations, []);
  const x = row(r, 'manifest-edit/signed-state+resealed');
  assert.equal(x.required, true);
  assert.equal(x.outcomes['signature'], 3);
});

test('a damaged SHA256SUMS is caught, so `sha256sum -c` and verify never disagree', async (t) => {
  const r = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 5, seed: 3, workDir: tempDir(t), variants: ['bit-flip/sha256sums'] });
  assert.deepEqual(r.violations, []);
  assert.equal(row(r, 'bit-flip/sha256sums').guarantee.k, 5);
});

test('the campaign has teeth: a store that does not hash (verify: sizes) is reported as missing bit flips', async (t) => {
  const r = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 4, seed: 1, workDir: tempDir(t), variants: ['bit-flip/tensor-data'], verifyLevel: 'sizes' });
  assert.equal(row(r, 'bit-flip/tensor-data').outcomes['missed'], 4);
  assert.equal(r.violations.length, 4);
  assert.match(r.violations[0]!.description, /verify passed damaged step/);
  assert.match(r.violations[0]!.replay, /^holdfast torture corrupt --seed 1 --class bit-flip\/tensor-data --trials 1$/);
});

test('trials replay: the same seed injects the same fault (file, offset, length) into shards', async (t) => {
  const run = async (): Promise<string[]> => {
    const out: string[] = [];
    await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 5, seed: 77, workDir: tempDir(t), variants: ['bit-flip/header-json', 'zeroed-4k/shard', 'truncate/shard-random', 'swap/within'], onTrial: (x) => out.push(`${x.variant} ${x.file} ${x.offset} ${x.length} ${x.detail}`) });
    return out;
  };
  assert.deepEqual(await run(), await run());
});

test('each injector changes the checkpoint it claims to, through the FileSystem only', async () => {
  const fixture = await buildCorruptFixture(4);
  const pristine = MemoryFileSystem.fromTree(fixture.tree).digest();
  for (const [i, v] of FAULT_VARIANTS.entries()) {
    const fs = MemoryFileSystem.fromTree(fixture.tree);
    const fault = await v.inject({ fs, fixture, rng: new SeededRandom(4, i) });
    if (v.expectation !== 'benign') assert.notEqual(fs.digest(), pristine, v.name);
    if (v.expectation === 'detect') assert.ok(fault.damaged.length > 0, `${v.name} names what it damaged`);
    if (v.expectation === 'benign') assert.deepEqual(fault.damaged, [], v.name);
  }
  assert.equal(MemoryFileSystem.fromTree(fixture.tree).digest(), pristine, 'the fixture itself is never modified');
});

test('variant selection and per-class floors', () => {
  assert.equal(selectVariants(['C8']).every((v) => v.classId === 'C8'), true);
  assert.equal(selectVariants(['bit-flip']).length, 6);
  assert.throws(() => selectVariants(['no-such-class']), /unknown corruption class/);
  const c3 = selectVariants(['C3']);
  const counts = trialsPerVariant(c3, 500, 2000);
  assert.ok([...counts.values()].reduce((a, b) => a + b, 0) >= 2000);
  assert.ok(findFaultVariant('missing/manifest'));
});

test('holdfast torture corrupt: exit 0, one JSON document, an offline report and a trial log', (t) => {
  const dir = tempDir(t);
  const report = join(dir, 'r.html');
  const log = join(dir, 'trials.jsonl');
  // The real binary, once: a campaign run end to end through process I/O and the exit code.
  const r = spawnSync(process.execPath, [MAIN, 'torture', 'corrupt', '--class', 'bit-flip,C7', '--trials', '2', '--seed', '3', '--json', '--report', report, '--log', log], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { ok: boolean; campaigns: CampaignResult[] };
  assert.equal(doc.ok, true);
  assert.equal(doc.campaigns[0]!.campaign, 'corrupt');
  assert.ok(existsSync(report));
  assert.doesNotMatch(readFileSync(report, 'utf8'), /https?:\/\//);
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 12 * 2);
});

test('holdfast torture: --class with another campaign is a usage error (exit 2); --help lists --full', async () => {
  const usage = await holdfast(['torture', 'kill', '--class', 'C1']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--class applies to the corrupt campaign only/);
  const help = await holdfast(['torture', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--full/);
});
