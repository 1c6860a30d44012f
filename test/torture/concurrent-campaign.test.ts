import assert from 'node:assert/strict';
import test from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { CONCURRENT_QUICK, runConcurrentCampaign } from '../../src/torture/concurrent-campaign.js';
import { concurrentContent, concurrentDigest } from '../../src/torture/concurrent-content.js';
import { contentDigest } from '../../src/torture/kill-content.js';
import { tempDir } from '../helpers/temp-dir.js';

const row = (r: { rows: { group: string; guarantee: { k: number; n: number } }[] }, group: string) => r.rows.find((x) => x.group === group)!;

test('quick concurrency campaign: real processes, SIGKILL and SIGSTOP, every invariant holds', async (t) => {
  // The campaign runs for a fixed time: on a loaded machine one run may end before a save of every
  // mode committed. Every run must hold every invariant; further seeded runs (at most 3 in all) add
  // samples until each check has checked something, so the test's teeth never depend on timing.
  const counts = new Map<string, number>();
  const add = (key: string, n: number): void => void counts.set(key, (counts.get(key) ?? 0) + n);
  const missing = (variants: string[]): string[] =>
    variants.flatMap((v) => [
      ...['committed verifies', 'newest kept', 'restore newest', 'no hang'].filter((g) => (counts.get(`${v} · ${g}`) ?? 0) === 0).map((g) => `${v} · ${g} checked nothing`),
      ...['sigstop', 'sigkill', 'commits.unsafe', 'commits.atomic_nodirsync', 'commits.atomic_dirsync'].filter((c) => (counts.get(`${v}.${c}`) ?? 0) === 0).map((c) => `${v}: no ${c}`),
    ]);
  let variants: string[] = [];
  for (let run = 0; run < 3; run++) {
    const r = await runConcurrentCampaign({ ...CONCURRENT_QUICK, seed: 1 + run, workDir: tempDir(t) });
    assert.deepEqual(r.violations, [], r.violations.map((v) => `${v.group}: ${v.description}\n  ${v.replay}`).join('\n'));
    variants = r.counters['nearly-full.skipped'] === 1 ? ['normal'] : ['normal', 'nearly-full'];
    for (const v of variants) {
      for (const g of ['committed verifies', 'newest kept', 'restore newest', 'typed failures', 'no hang']) {
        const x = row(r, `${v} · ${g}`);
        assert.equal(x.guarantee.k, x.guarantee.n, x.group);
        add(x.group, x.guarantee.n);
      }
      for (const c of ['sigstop', 'sigkill', 'commits.unsafe', 'commits.atomic_nodirsync', 'commits.atomic_dirsync']) add(`${v}.${c}`, r.counters[`${v}.${c}`] ?? 0);
    }
    if (missing(variants).length === 0) break;
  }
  // The campaign has teeth: processes were paused and killed, and saves committed in every mode.
  assert.deepEqual(missing(variants), []);
});

test('the replay of one round runs that round only', async (t) => {
  const r = await runConcurrentCampaign({ seed: 3, workDir: tempDir(t), rounds: 5, roundMs: 600, workers: 2, variants: ['normal'], onlyRound: 4 });
  assert.equal(r.counters['rounds'], 1);
  assert.deepEqual(r.violations, []);
});

test('content is a pure function of (seed, step), and what a store restores matches it', async (t) => {
  const a = concurrentContent(5, 17);
  assert.equal(contentDigest(a.tensors, a.state), concurrentDigest(5, 17));
  assert.notEqual(concurrentDigest(5, 18), concurrentDigest(5, 17));
  assert.notEqual(concurrentDigest(6, 17), concurrentDigest(5, 17));
  const sizes = Array.from({ length: 200 }, (_, s) => concurrentContent(1, s).totalBytes);
  assert.ok(sizes.every((b) => b >= 4 * 1024 - 64 && b <= 2 * 1024 * 1024), 'KiBs to 2 MiB');
  const store = await openStore(tempDir(t), { shardSizeBytes: 256 * 1024 });
  await store.save(17, { tensors: a.tensors, state: a.state });
  const back = await store.restore();
  assert.equal(contentDigest(back.tensors, back.state), concurrentDigest(5, 17));
});
