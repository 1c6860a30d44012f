// The tiered store against a real S3 server: saves commit locally and upload in the background,
// tier states derived from the two stores, restore falling back to the durable tier when the local
// copy is missing or damaged, and only then rolling back.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test, { describe } from 'node:test';
import type { StoreEvent, TieredStore } from '../../src/store/types.js';
import { openStore } from '../../src/store/open-store.js';
import { assertSameTensors } from '../storage/conformance.js';
import { flipBit } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';
import { withS3Bucket } from '../helpers/s3-bucket.js';
import { bigTensor } from '../helpers/big-tensor.js';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';

const MiB = 2 ** 20;

const SHARD = 'r0000-p000.safetensors';

function ckpt(dir: string, step: number): string {
  return join(dir, `ckpt-${String(step).padStart(12, '0')}`);
}

withS3Bucket('the tiered store against a real S3 server', (bucket, admin) => {
  let n = 0;
  const durableUrl = (): string => `s3://${bucket}/tiered-${++n}`;
  const open = (local: string, durable: string, upload: 'background' | 'manual' = 'background', onEvent?: (e: StoreEvent) => void): Promise<TieredStore> =>
    openStore({ local, durable, upload }, onEvent === undefined ? {} : { onEvent }) as Promise<TieredStore>;

  describe('tiered store', () => {
    test('save and saveAsync commit locally and upload in the background; flush waits; ls shows durable', async (t) => {
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const store = await open(local, durable);
      await store.save(1, { tensors: sampleTensors(1), state: { s: 1 } });
      const handle = store.saveAsync(2, { tensors: sampleTensors(2), state: { s: 2 } });
      await handle.committed;
      const report = await store.flush();
      assert.deepEqual(report.results.map((r) => [r.step, r.outcome]).sort(), [[1, 'copied'], [2, 'copied']]);
      assert.deepEqual((await store.list()).map((c) => [c.step, c.tier]), [[1, 'durable'], [2, 'durable']]);
      await store.close();
      const direct = await openStore(durable, { create: false });
      assertSameTensors((await direct.restore(2)).tensors, sampleTensors(2), 'durable copy of step 2');
      assert.ok((await direct.verify()).every((r) => r.ok));
      await direct.close();
    });

    test('manual upload: a save stays local until sync; a reopened store in background mode uploads it at open', async (t) => {
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const store = await open(local, durable, 'manual');
      await store.save(1, { tensors: sampleTensors(1) });
      await store.save(2, { tensors: sampleTensors(2) });
      assert.deepEqual((await store.list()).map((c) => c.tier), ['local', 'local']);
      const synced = await store.sync();
      assert.deepEqual(synced.results.map((r) => r.step), [2, 1], 'newest first');
      await store.save(3, { tensors: sampleTensors(3) });
      assert.deepEqual((await store.list()).map((c) => c.tier), ['durable', 'durable', 'local']);
      await store.close();
      const again = await open(local, durable);
      await again.flush();
      assert.deepEqual((await again.list()).map((c) => c.tier), ['durable', 'durable', 'durable']);
      await again.close();
    });

    test('restore falls back to the durable tier when the local copy is gone (a replaced node)', async (t) => {
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const store = await open(local, durable);
      await store.save(1, { tensors: sampleTensors(1) });
      await store.save(2, { tensors: sampleTensors(2), state: { s: 2 } });
      await store.close();
      rmSync(local, { recursive: true });
      const fresh = await open(local, durable, 'manual');
      assert.deepEqual((await fresh.list()).map((c) => [c.step, c.tier]), [[1, 'durable-only'], [2, 'durable-only']]);
      const r = await fresh.restore();
      assert.equal(r.step, 2);
      assert.deepEqual(r.skipped, []);
      assert.ok(r.path.startsWith(durable), r.path);
      assert.deepEqual(r.state, { s: 2 });
      assertSameTensors(r.tensors, sampleTensors(2), 'step 2 from the durable tier');
      await fresh.close();
    });

    test('restore falls back to the durable copy of the same step when the local one fails verification (quarantined)', async (t) => {
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const store = await open(local, durable);
      await store.save(1, { tensors: sampleTensors(1) });
      await store.save(2, { tensors: sampleTensors(2) });
      await store.close();
      flipBit(join(ckpt(local, 2), SHARD), 300);
      const events: StoreEvent[] = [];
      const reopened = await open(local, durable, 'manual', (e) => events.push(e));
      const r = await reopened.restore();
      assert.equal(r.step, 2, 'not rolled back: the durable copy of step 2 verifies');
      assert.deepEqual(r.skipped, []);
      assert.ok(r.path.startsWith(durable), r.path);
      assertSameTensors(r.tensors, sampleTensors(2), 'step 2 from the durable tier');
      assert.ok(events.some((e) => e.type === 'quarantined' && e.step === 2), 'the damaged local copy is quarantined');
      assert.equal(existsSync(ckpt(local, 2)), false);
      assert.ok(readdirSync(join(local, '.quarantine')).some((name) => name.startsWith('ckpt-000000000002')));
      await reopened.close();
    });

    test('with both copies of the newest step damaged, restore rolls back to the older step', async (t) => {
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const store = await open(local, durable);
      await store.save(1, { tensors: sampleTensors(1) });
      await store.close();
      // Step 2 only locally and damaged: neither tier can serve it.
      const manual = await open(local, durable, 'manual');
      await manual.save(2, { tensors: sampleTensors(2) });
      await manual.close();
      flipBit(join(ckpt(local, 2), SHARD), 300);
      const reopened = await open(local, durable, 'manual');
      const r = await reopened.restore();
      assert.equal(r.step, 1);
      assert.deepEqual(r.skipped.map((s) => s.step), [2]);
      assertSameTensors(r.tensors, sampleTensors(1), 'step 1');
      await reopened.close();
    });

    test('an explicit step is served by whichever tier verifies; absent from both is HF_NOT_FOUND', async (t) => {
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const store = await open(local, durable);
      await store.save(4, { tensors: sampleTensors(4) });
      await store.flush();
      rmSync(ckpt(local, 4), { recursive: true });
      assertSameTensors((await store.restore(4)).tensors, sampleTensors(4), 'step 4');
      await assert.rejects(store.restore(5), (e: Error & { code?: string }) => e.code === 'HF_NOT_FOUND');
      await store.close();
    });

    test('a local copy damaged before its upload is refused: flush names it, nothing durable, the upload aborted', async (t) => {
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const store = await open(local, durable, 'manual');
      await store.save(1, { tensors: { big: bigTensor(20 * MiB, 4) } });
      flipBit(join(ckpt(local, 1), SHARD), 17 * MiB);
      await assert.rejects(store.sync(), (e: Error & { code?: string; data?: { failed?: { step: number; code: string }[] } }) => {
        assert.equal(e.code, 'HF_IO');
        assert.deepEqual(e.data?.failed?.map((f) => [f.step, f.code]), [[1, 'HF_CORRUPT']]);
        return /step 1: .*SHA-256 mismatch/.test(e.message);
      });
      assert.deepEqual((await store.list()).map((c) => c.tier), ['local'], 'nothing committed or left uploading in the durable tier');
      await store.close();
      const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: durable.slice(`s3://${bucket}/`.length) }));
      assert.equal(uploads.Uploads?.length ?? 0, 0);
    });

    test('a durable tier holding another checkpoint at a step: the upload reports a conflict and leaves it', async (t) => {
      const other = join(tempDir(t), 'other');
      const local = join(tempDir(t), 'local');
      const durable = durableUrl();
      const first = await open(other, durable);
      await first.save(9, { tensors: sampleTensors(1) });
      await first.close();
      const store = await open(local, durable);
      await store.save(9, { tensors: sampleTensors(9) });
      const report = await store.flush();
      assert.deepEqual(report.results.map((r) => r.outcome), ['conflict']);
      assert.deepEqual((await store.list()).map((c) => c.tier), ['conflict']);
      await store.close();
    });
  });
});
