// The S3 fault campaign, quick and seeded, against the real server (the CI run of
// `holdfast torture s3`), and its oracle shown to catch what it claims to: a committed manifest
// naming a missing object, a reported commit that is not there, two writers both committing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { checkpointDirName } from '../../src/format/names.js';
import { newNonce } from '../../src/format/nonce.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { openStore } from '../../src/store/open-store.js';
import { S3_FAULT_CLASSES, S3_QUICK, runS3Campaign } from '../../src/torture/s3-campaign.js';
import { s3Content } from '../../src/torture/s3-content.js';
import { tierContent } from '../../src/torture/s3-tier-content.js';
import { judgeResumed, resumeAndJudgeTier } from '../../src/torture/s3-tier-trial.js';
import { flipBit } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { judgeS3Trial } from '../../src/torture/s3-oracle.js';
import type { SaveReport } from '../../src/torture/s3-savers.js';
import { s3Suite } from '../helpers/s3-server.js';
import { MAIN } from '../cli/helpers.js';

test('holdfast torture s3: usage errors (unknown class; no plain-HTTP server named) exit 2 with one line', () => {
  const env = { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:1' };
  const bad = spawnSync(process.execPath, [MAIN, 'torture', 's3', '--class', 'bogus'], { encoding: 'utf8', env });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /unknown S3 fault class "bogus"/);
  const { AWS_ENDPOINT_URL: _, ...noServer } = process.env;
  const none = spawnSync(process.execPath, [MAIN, 'torture', 's3'], { encoding: 'utf8', env: noServer });
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /needs AWS_ENDPOINT_URL/);
});

s3Suite('the S3 fault campaign', (b) => {
  test('holdfast torture s3, quick: every fault class is exercised and every invariant holds', async () => {
    const result = await runS3Campaign({ ...S3_QUICK, seed: 1, classes: S3_FAULT_CLASSES, upstream: process.env.AWS_ENDPOINT_URL!, bucket: b.bucket, prefix: `campaign/${newNonce()}/` });
    assert.deepEqual(result.violations, []);
    assert.deepEqual(result.rows.map((r) => r.group), [...S3_FAULT_CLASSES]);
    for (const row of result.rows) {
      assert.equal(row.guarantee.k, row.guarantee.n, row.group);
      // sigkill's fault is the kill; its proxy only delays some requests.
      if (row.group !== 'sigkill') assert.ok((row.outcomes['requests-faulted'] ?? 0) > 0, `${row.group}: the proxy injected its fault`);
      assert.ok((row.outcomes['gc-kept-committed'] ?? 0) === row.trials, `${row.group}: gc checked every trial`);
    }
    const row = (g: string) => result.rows.find((r) => r.group === g)!;
    assert.ok((row('flip-byte').outcomes['damaged-body-refused'] ?? 0) > 0, 'damaged bodies reached the server and were refused');
    // Where the kill lands depends on how fast the saves run: further seeded runs of that class (at most 2),
    // each holding every invariant, until one kill has landed mid-save.
    let killedMidSave = row('sigkill').outcomes['save-killed'] ?? 0;
    for (let seed = 2; killedMidSave === 0 && seed <= 3; seed++) {
      const again = await runS3Campaign({ ...S3_QUICK, seed, classes: ['sigkill'], upstream: process.env.AWS_ENDPOINT_URL!, bucket: b.bucket, prefix: `campaign/${newNonce()}/` });
      assert.deepEqual(again.violations, []);
      killedMidSave += again.rows[0]!.outcomes['save-killed'] ?? 0;
    }
    assert.ok(killedMidSave > 0, 'the saver was killed mid-save');
    // tier-kill: the kill lands at a seeded share of the upload bytes; further seeded runs (at most 2)
    // until an interrupted upload had bytes on the server that its resume did not send again.
    const tier = row('tier-kill').outcomes;
    assert.ok((tier['local-copy-valid'] ?? 0) > 0 && tier['interrupted-upload-resumed']! > 0, 'the local copy verified and an interrupted upload resumed');
    let resumedWithBytes = tier['resumed-with-bytes-on-server'] ?? 0;
    for (let seed = 2; resumedWithBytes === 0 && seed <= 3; seed++) {
      const again = await runS3Campaign({ ...S3_QUICK, seed, classes: ['tier-kill'], upstream: process.env.AWS_ENDPOINT_URL!, bucket: b.bucket, prefix: `campaign/${newNonce()}/` });
      assert.deepEqual(again.violations, []);
      resumedWithBytes += again.rows[0]!.outcomes['resumed-with-bytes-on-server'] ?? 0;
    }
    assert.ok(resumedWithBytes > 0, 'a resume found parts already on the server and did not send them again');
    assert.equal(row('race').outcomes['one-commit-per-step'], 1, 'the race had exactly one winner');
    assert.ok((row('delay').outcomes['reported-commit-readable'] ?? 0) > 0);
  });

  test('holdfast torture s3 --class race --json, end to end: exit 0 and one JSON document', () => {
    const r = spawnSync(process.execPath, [MAIN, 'torture', 's3', '--class', 'race', '--seed', '2', '--json', '--store', `s3://${b.bucket}/cli/${newNonce()}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; campaigns: { campaign: string; rows: { group: string; trials: number }[] }[] };
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.campaigns[0]!.rows.map((row) => [row.group, row.trials]), [['race', 1]]);
  });

  test('the tier-kill oracle reports a local copy that no longer verifies, a failed resume and re-sent bytes', async (t) => {
    const local = join(tempDir(t), 'local');
    const c = tierContent(7, 1);
    const store = await openStore(local, { shardSizeBytes: c.shardSizeBytes * 2 });
    await store.save(1, { tensors: c.tensors, state: c.state });
    const file = (await store.inspect(1)).files[0]!.path;
    await store.close();
    flipBit(join(local, checkpointDirName(1), file), 100);
    const at = { bucket: b.bucket, prefix: `tier-oracle/${newNonce()}/` };
    const verdict = await resumeAndJudgeTier(at, local, 7, 0, process.env.AWS_ENDPOINT_URL!, [{ step: 1, digest: c.digest, outcome: 'committed', writer: 0 }]);
    const said = verdict.violations.join('\n');
    assert.match(said, /local step 1 does not verify after the kill/);
    assert.match(said, /step 1 was reported saved, but the local tier does not hold it/);
    assert.match(said, /resume by holdfast sync failed: exit 1/);
    const resent = { violations: [] as string[], counts: {} };
    judgeResumed(1, 30, { results: [{ step: 1, outcome: 'copied', bytes: 100, sentBytes: 80 }], failed: [] }, 'holdfast sync', resent, () => undefined);
    assert.match(resent.violations.join(''), /sent 80 of 100 bytes though the server already held 30: 10 bytes re-sent/);
  });

  test('the oracle reports a committed manifest naming a missing object, a phantom commit, and two winners of one step', async () => {
    const at = { bucket: b.bucket, prefix: `oracle/${newNonce()}/` };
    const storage = new S3Storage(at);
    const c = s3Content(5, 1);
    const store = await openStore({ storage }, { shardSizeBytes: c.shardSizeBytes });
    await store.save(1, { tensors: c.tensors, state: c.state });
    await store.close();
    const manifest = JSON.parse(new TextDecoder().decode((await storage.client.get(`${at.prefix}${checkpointDirName(1)}/manifest.json`))!.bytes)) as { nonce: string };
    const shards = await storage.client.list(`${at.prefix}${checkpointDirName(1)}/${manifest.nonce}/r0000`);
    await storage.client.delete(shards[0]!.key);
    await storage.close();
    const reports: SaveReport[] = [
      { step: 1, digest: c.digest, outcome: 'committed', writer: 0 },
      { step: 1, digest: c.digest, outcome: 'committed', writer: 1 },
      { step: 2, digest: 'x', outcome: 'committed', writer: 0 },
      { step: 3, digest: '', outcome: 'failed', code: 'untyped', writer: 0 },
      { step: 4, digest: '', outcome: 'hung', writer: 0 },
    ];
    const verdict = await judgeS3Trial(at, reports, (step) => [s3Content(5, step).digest], []);
    const said = verdict.violations.join('\n');
    assert.match(said, /committed step 1 does not verify/);
    assert.match(said, /writer 0 reported step 1 committed, but it is not readable/);
    assert.match(said, /reported step 2 committed, but it is not readable/);
    assert.match(said, /2 writers each reported committing step 1/);
    assert.match(said, /step 3 failed with an error that is not a HoldfastError/);
    assert.match(said, /step 4 \(writer 0\) neither committed nor failed/);
  });
});
