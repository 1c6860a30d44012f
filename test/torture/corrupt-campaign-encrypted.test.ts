import assert from 'node:assert/strict';
import { posix as path } from 'node:path';
import test from 'node:test';
import type { Manifest } from '../../src/format/manifest-types.js';
import { readWholeFile } from '../../src/fs/file-utils.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { SeededRandom } from '../../src/fs/seeded-random.js';
import type { CampaignResult } from '../../src/torture/campaign.js';
import { runCorruptCampaign, type CorruptTrialRecord } from '../../src/torture/corrupt-campaign.js';
import { openStore } from '../../src/store/open-store.js';
import { buildCorruptFixture, FIXTURE_ENCRYPTION, FIXTURE_SIGNING } from '../../src/torture/corrupt-fixture.js';
import { FAULT_VARIANTS, findFaultVariant } from '../../src/torture/corruption/index.js';
import { runCampaign } from '../../src/torture/run-campaign.js';
import { tempDir } from '../helpers/temp-dir.js';
import { holdfast } from '../cli/helpers.js';
import { assertQuickCorruptRun, row } from './quick-corrupt-run.js';


test('the encrypted fixture stores ciphertext: no shard holds its plaintext header, every manifest names the key', async () => {
  const fixture = await buildCorruptFixture(4, 'atomic_dirsync', { encrypted: true });
  const fs = MemoryFileSystem.fromTree(fixture.tree);
  for (const c of fixture.checkpoints) {
    const m = JSON.parse(new TextDecoder().decode(await readWholeFile(fs, path.join(c.dir, 'manifest.json')))) as Manifest;
    assert.equal(m.encryption?.alg, 'aes-256-gcm');
    for (const s of c.shards) {
      const stored = await readWholeFile(fs, path.join(c.dir, s.name));
      assert.equal(stored.byteLength, s.sizeBytes);
      assert.equal(Buffer.from(stored).includes('__metadata__'), false, `${s.name} is stored in the clear`);
      assert.ok(s.dataStart > 8 && s.dataStart < s.sizeBytes, 'the layout was read from the decrypted header');
    }
  }
});

test('quick encrypted corrupt campaign: every stored-byte fault detected and rolled back bit-exact with the key, no false alarm', async (t) => {
  const records: CorruptTrialRecord[] = [];
  const r = await runCampaign({ name: 'corrupt', full: false, seed: 20261202, workDir: tempDir(t), encrypted: true, onTrial: (x) => records.push(x as CorruptTrialRecord) });
  assertQuickCorruptRun(r);
  // Every variant ran (none skipped); header edits were re-sealed with the key, so the header checks caught them.
  assert.equal(new Set(records.map((x) => x.variant)).size, FAULT_VARIANTS.length);
  assert.equal(row(r, 'C13 · all 5 variants').outcomes['rollback:ok'], row(r, 'C13 · all 5 variants').trials);
  // A damaged record is corruption (a FileProblem, rolled back over), never HF_KEY; only the rebound stale shard is refused.
  const refused = records.filter((x) => x.mechanism === 'HF_KEY');
  assert.deepEqual([...new Set(refused.map((x) => x.variant))], ['stale/shard+rehashed']);
  assert.equal(row(r, 'stale/shard+rehashed').outcomes['nothing-quarantined'], 10);
  for (const x of records.filter((x) => x.restoredStep !== null && x.variant !== 'manifest-edit/state+resealed')) assert.equal(x.restoredExact, true, JSON.stringify(x));
});

test('keyless: verify and latest without the key catch every damaged stored byte and roll back; restore with it is bit-exact', async (t) => {
  const r = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 4, seed: 7, workDir: tempDir(t), encrypted: true, keyless: true });
  assert.deepEqual(r.violations, [], r.violations.map((v) => `${v.description}\n  ${v.replay}`).join('\n'));
  assert.equal(row(r, 'all faults').outcomes['missed'] ?? 0, 0);
  assert.equal(row(r, 'all faults').outcomes['rollback:ok'], row(r, 'all faults').trials);
  assert.equal(r.counters['falseAlarms'], 0);
  // Only the resealed manifest edits that just the shard header contradicts are skipped, and they are named.
  assert.equal(r.counters['variants'], FAULT_VARIANTS.length - 4);
  assert.ok(r.notes.some((n) => /skipped.*manifest-edit\/dtype\+resealed/.test(n)));
});

test('the encrypted campaign has teeth: a store that skips verification is reported as missing bit flips, one that rolls back a refused fault too', async (t) => {
  // Without the key and without hashing (verify: sizes) nothing vouches for the stored bytes: verify and latest must be caught missing.
  const keyless = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 4, seed: 1, workDir: tempDir(t), encrypted: true, keyless: true, verifyLevel: 'sizes', variants: ['bit-flip/tensor-data'] });
  assert.equal(row(keyless, 'bit-flip/tensor-data').outcomes['missed'], 4);
  assert.equal(keyless.violations.length, 4);
  assert.match(keyless.violations[0]!.description, /verify passed damaged step/);
  assert.match(keyless.violations[0]!.replay, /^holdfast torture corrupt --seed 1 --class bit-flip\/tensor-data --trials 1 --encrypted --keyless$/);
  // With the key but no hashing, a record that does not authenticate is taken for damage: quarantined instead of HF_KEY.
  const sizes = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 4, seed: 1, workDir: tempDir(t), encrypted: true, verifyLevel: 'sizes', variants: ['stale/shard+rehashed', 'bit-flip/tensor-data'] });
  assert.equal(row(sizes, 'stale/shard+rehashed').outcomes['not-refused'], 4);
  assert.equal(sizes.violations.length, 4);
  assert.match(sizes.violations[0]!.description, /verify\(\) returned instead of refusing with HF_KEY/);
  // ... while a flipped ciphertext bit is still caught without hashing: the record read for the header check does not authenticate.
  assert.equal(row(sizes, 'bit-flip/tensor-data').outcomes['rollback:ok'], 4);
});

test('the refused rewrite is rolled back over when the reader also holds the signing key: the resealed manifest no longer verifies', async () => {
  const fixture = await buildCorruptFixture(2, 'atomic_dirsync', { encrypted: true });
  const fs = MemoryFileSystem.fromTree(fixture.tree);
  await findFaultVariant('stale/shard+rehashed')!.inject({ fs, fixture, rng: new SeededRandom(2, 1) });
  const store = await openStore(fixture.root, { fs, create: false, encryption: FIXTURE_ENCRYPTION, signing: FIXTURE_SIGNING });
  const reports = await store.verify();
  assert.deepEqual(reports.map((r) => [r.step, r.ok, r.problems[0]?.reason]), [[100, true, undefined], [200, true, undefined], [300, false, 'signature']]);
  assert.equal((await store.restore()).step, 200);
  await store.close();
});

test('holdfast torture corrupt --encrypted: exit 0 on a seeded run; --encrypted with another campaign, --keyless alone, are usage errors', async () => {
  const run = await holdfast(['torture', 'corrupt', '--encrypted', '--keyless', '--class', 'zeroed-4k/shard,missing/shard', '--trials', '2', '--seed', '5', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as { campaigns: CampaignResult[] };
  assert.ok(doc.campaigns[0]!.notes.some((n) => n.startsWith('Encrypted fixture')));
  const usage = await holdfast(['torture', 'kill', '--encrypted']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--encrypted applies to the corrupt campaign only/);
  const keylessAlone = await holdfast(['torture', 'corrupt', '--keyless']);
  assert.equal(keylessAlone.code, 2);
  assert.match(keylessAlone.stderr, /--keyless applies with --encrypted only/);
});
