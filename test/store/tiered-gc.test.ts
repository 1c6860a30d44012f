// gc on a tiered store against a real S3 server: retention and leftover cleanup in both tiers; the
// local tier keeps what the durable tier lacks (unless asked), the durable tier keeps what the
// local tier keeps and the local tier's tags; retention after each upload follows the same rules.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { openStore } from '../../src/store/open-store.js';
import { replicate } from '../../src/store/replicate.js';
import type { GcResult, Store, TieredStore } from '../../src/store/types.js';
import { MAIN } from '../cli/helpers.js';
import { withS3Bucket } from '../helpers/s3-bucket.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors } from '../storage/conformance.js';

const steps = async (s: Store): Promise<number[]> => (await s.list()).map((c) => c.step);
const rulesOf = (r: GcResult, step: number): string[] => r.verdicts.find((v) => v.step === step)!.reasons.map((x) => x.rule);

async function saveSteps(local: string, n: number): Promise<void> {
  const store = await openStore(local);
  for (let step = 1; step <= n; step++) await store.save(step, { tensors: sampleTensors(step), state: { step } });
  await store.close();
}

withS3Bucket('gc on a tiered store against a real S3 server', (bucket, admin) => {
  test('both tiers: the local tier keeps what is not uploaded, the durable tier keeps what the local tier keeps and its tags', async (t) => {
    const local = join(tempDir(t), 'local');
    const durable = `s3://${bucket}/gc-both`;
    await saveSteps(local, 5);
    await replicate(local, durable, { steps: [2, 3, 4, 5] });
    const store = (await openStore({ local, durable, upload: 'manual' })) as TieredStore;
    await store.tag(3, 'best');

    const dry = await store.gc({ keepLast: 1, dryRun: true });
    assert.deepEqual([dry.removedSteps, dry.durable!.removedSteps], [[2, 4], [2, 4]]);
    assert.deepEqual((await store.list()).map((c) => c.step), [1, 2, 3, 4, 5], 'a dry run changes nothing');

    const r = await store.gc({ keepLast: 1 });
    assert.deepEqual(r.removedSteps, [2, 4]);
    assert.deepEqual(rulesOf(r, 1), ['not-uploaded'], 'step 1 never reached the durable tier');
    assert.deepEqual(r.durable!.removedSteps, [2, 4]);
    assert.ok(rulesOf(r.durable!, 3).includes('tagged') && rulesOf(r.durable!, 3).includes('held-locally'));
    const localStore = await openStore(local, { create: false });
    const durableStore = await openStore(durable, { create: false });
    assert.deepEqual([await steps(localStore), await steps(durableStore)], [[1, 3, 5], [3, 5]]);

    const asked = await store.gc({ keepLast: 1, evenIfNotUploaded: true });
    assert.deepEqual([asked.removedSteps, asked.durable!.removedSteps], [[1], []]);
    assert.deepEqual([await steps(localStore), await steps(durableStore)], [[3, 5], [3, 5]]);
    await store.untag('best');
    const wider = await store.gc({ keepLast: 1, durable: { keepLast: 2 } });
    assert.deepEqual([wider.removedSteps, wider.durable!.removedSteps], [[3], []], 'the durable tier keeps 2, the local tier 1');
    assert.ok((await durableStore.verify()).every((v) => v.ok), 'what the durable tier keeps verifies');
    assertSameTensors((await durableStore.restore(3)).tensors, sampleTensors(3), 'durable step 3');
    await Promise.all([store.close(), localStore.close(), durableStore.close()]);
  });

  test('the durable tier: leftovers of an interrupted upload past the grace period go; the newest valid checkpoint stays whatever the policy', async (t) => {
    const local = join(tempDir(t), 'local');
    const durable = `s3://${bucket}/gc-leftover`;
    await saveSteps(local, 2);
    const store = (await openStore({ local, durable })) as TieredStore;
    await store.flush();
    const key = 'gc-leftover/ckpt-000000000009/0123456789abcdef0123456789abcdef/r0000-p000.safetensors';
    const { UploadId } = await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    await admin.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: new Uint8Array(1024) }));
    const kept = await store.gc({ keepLast: 1 });
    assert.equal((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'gc-leftover/' }))).Uploads?.length, 1, 'a young leftover may be a live upload: kept');
    assert.deepEqual([kept.removedSteps, kept.durable!.removedSteps], [[1], [1]]);
    const r = await store.gc({ keepLast: 1, stagingGraceMs: 0 });
    assert.ok(r.durable!.removedStaging.length > 0, 'the durable tier reported the leftover');
    assert.equal((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'gc-leftover/' }))).Uploads?.length ?? 0, 0, 'no incomplete upload left');
    assert.deepEqual((await store.list()).map((c) => [c.step, c.tier]), [[2, 'durable']]);
    await store.close();
  });

  test('retention after each upload (StoreOptions.retention): nothing leaves the local tier before it is durable', async (t) => {
    const local = join(tempDir(t), 'local');
    const durable = `s3://${bucket}/gc-retain`;
    const manual = (await openStore({ local, durable, upload: 'manual' }, { retention: { keepLast: 2 } })) as TieredStore;
    for (let step = 1; step <= 4; step++) await manual.save(step, { tensors: sampleTensors(step), state: { step } });
    await manual.flush();
    assert.deepEqual((await manual.list()).map((c) => [c.step, c.tier]), [[1, 'local'], [2, 'local'], [3, 'local'], [4, 'local']], 'not uploaded: all kept');
    await manual.sync();
    assert.deepEqual((await manual.list()).map((c) => [c.step, c.tier]), [[3, 'durable'], [4, 'durable']]);
    await manual.close();

    const background = (await openStore({ local, durable }, { retention: { keepLast: 2 } })) as TieredStore;
    for (let step = 5; step <= 6; step++) await background.save(step, { tensors: sampleTensors(step), state: { step } });
    await background.flush();
    assert.deepEqual((await background.list()).map((c) => [c.step, c.tier]), [[5, 'durable'], [6, 'durable']]);
    await background.close();
  });

  test('holdfast gc LOCAL::DURABLE --json reports both tiers', async (t) => {
    const local = join(tempDir(t), 'local');
    const durable = `s3://${bucket}/gc-cli`;
    await saveSteps(local, 3);
    await replicate(local, durable);
    const cli = spawnSync(process.execPath, [MAIN, 'gc', `${local}::${durable}`, '--keep-last', '1', '--durable-keep-last', '2', '--json'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const doc = JSON.parse(cli.stdout) as GcResult;
    assert.deepEqual([doc.removedSteps, doc.durable!.removedSteps], [[1, 2], [1]]);
  });
});
