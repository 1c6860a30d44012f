// replicate(): committed checkpoints copied between stores, byte for byte (same manifest), verified
// on arrival, idempotent, a conflicting step reported and left alone, a damaged source refused.
// Local ↔ local always; local ↔ S3 and S3 ↔ S3 against the real server.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { describe } from 'node:test';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { openStore } from '../../src/store/open-store.js';
import { replicate } from '../../src/store/replicate.js';
import type { Tensor } from '../../src/format/dtype.js';
import { assertSameTensors } from '../storage/conformance.js';
import { flipBit, rewriteManifest } from '../helpers/tamper.js';
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';
import { withS3Bucket } from '../helpers/s3-bucket.js';
import { bigTensor } from '../helpers/big-tensor.js';

const MiB = 2 ** 20;

async function saveSteps(where: string, steps: number[]): Promise<void> {
  const store = await openStore(where);
  try {
    for (const s of steps) await store.save(s, { tensors: sampleTensors(s), state: { step: s } });
  } finally {
    await store.close();
  }
}

async function restoreFrom(where: string, step: number): Promise<{ manifestHash: string; tensors: Record<string, Tensor> }> {
  const store = await openStore(where, { create: false });
  try {
    const r = await store.restore(step);
    return { manifestHash: r.manifest.manifestHash, tensors: r.tensors };
  } finally {
    await store.close();
  }
}

test('local → local: every step copied with the same manifest; a second run copies nothing', async (t) => {
  const a = join(tempDir(t), 'a');
  const b = join(tempDir(t), 'b');
  await saveSteps(a, [1, 2, 3]);
  const first = await replicate(a, b);
  assert.deepEqual(first.results.map((r) => [r.step, r.outcome]), [[1, 'copied'], [2, 'copied'], [3, 'copied']]);
  for (const s of [1, 2, 3]) {
    const [src, dst] = [await restoreFrom(a, s), await restoreFrom(b, s)];
    assert.equal(dst.manifestHash, src.manifestHash);
    assertSameTensors(dst.tensors, sampleTensors(s), `step ${s}`);
  }
  const again = await replicate(a, b);
  assert.deepEqual(again.results.map((r) => r.outcome), ['present', 'present', 'present']);
  assert.equal(again.sentBytes, 0);
});

test('a different checkpoint at a step is reported as a conflict and left as it is', async (t) => {
  const a = join(tempDir(t), 'a');
  const b = join(tempDir(t), 'b');
  await saveSteps(a, [1, 2]);
  await saveSteps(b, [2]);
  const before = readFileSync(join(b, 'ckpt-000000000002', 'manifest.json'));
  const report = await replicate(a, b);
  assert.deepEqual(report.results.map((r) => [r.step, r.outcome]), [[1, 'copied'], [2, 'conflict']]);
  assert.ok(readFileSync(join(b, 'ckpt-000000000002', 'manifest.json')).equals(before), 'the destination manifest is untouched');
});

test('a source file that fails its manifest digest is refused; nothing is committed; the other steps are copied', async (t) => {
  const a = join(tempDir(t), 'a');
  const b = join(tempDir(t), 'b');
  await saveSteps(a, [1, 2]);
  flipBit(join(a, 'ckpt-000000000002', 'r0000-p000.safetensors'), 200);
  const report = await replicate(a, b);
  assert.equal(report.results[0]!.outcome, 'copied');
  const failed = report.results[1]!;
  assert.equal(failed.outcome, 'failed');
  assert.ok('code' in failed && failed.code === 'HF_CORRUPT', JSON.stringify(failed));
  const dest = await openStore(b, { create: false });
  assert.deepEqual((await dest.list()).map((c) => c.step), [1]);
  await dest.close();
});

test('replicate() leaves staging of a copy killed earlier behind it: the next run sweeps it under the lease and commits', async (t) => {
  const a = join(tempDir(t), 'a');
  const b = join(tempDir(t), 'b');
  await saveSteps(a, [7]);
  const nonce = (JSON.parse(readFileSync(join(a, 'ckpt-000000000007', 'manifest.json'), 'utf8')) as { nonce: string }).nonce;
  await saveSteps(b, []);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(b, '.staging', `000000000007-${nonce}`), { recursive: true });
  writeFileSync(join(b, '.staging', `000000000007-${nonce}`, 'r0000-p000.safetensors'), 'partial');
  const report = await replicate(a, b);
  assert.equal(report.results[0]!.outcome, 'copied');
  assertSameTensors((await restoreFrom(b, 7)).tensors, sampleTensors(7), 'step 7');
});

/** Rewrites a committed checkpoint as 2.0 with chunk digests of `chunkBytes` and plain whole-file hashes (re-sealed). */
function makeChunked(ckptDir: string, chunkBytes: number): void {
  rewriteManifest(ckptDir, (m) => {
    m.version = '2.0';
    for (const f of m.files) {
      const bytes = readFileSync(join(ckptDir, f.path));
      const sha256: string[] = [];
      for (let at = 0; at < bytes.byteLength; at += chunkBytes) sha256.push(createHash('sha256').update(bytes.subarray(at, at + chunkBytes)).digest('hex'));
      f.chunks = { bytes: chunkBytes, sha256 };
      f.hash = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    }
  });
}

withS3Bucket('replicate against a real S3 server', (bucket, admin) => {
  describe('replicate with S3', () => {
    test('local → S3 → S3 → local: same manifest and bytes everywhere, multipart objects verified by ETag, idempotent', async (t) => {
      const a = join(tempDir(t), 'a');
      const back = join(tempDir(t), 'back');
      const s3a = `s3://${bucket}/rep/a`;
      const s3b = `s3://${bucket}/rep/b`;
      const store = await openStore(a);
      await store.save(1, { tensors: { big: bigTensor(11 * MiB, 3), ...sampleTensors(1) }, state: { n: 1 } });
      await store.save(2, { tensors: sampleTensors(2), state: { n: 2 } });
      await store.close();
      const up = await replicate(a, s3a, { partBytes: 5 * MiB });
      assert.deepEqual(up.results.map((r) => r.outcome), ['copied', 'copied']);
      assert.ok(up.sentBytes > 11 * MiB);
      const across = await replicate(s3a, s3b, { partBytes: 5 * MiB });
      assert.deepEqual(across.results.map((r) => r.outcome), ['copied', 'copied']);
      const down = await replicate(s3b, back);
      assert.deepEqual(down.results.map((r) => r.outcome), ['copied', 'copied']);
      const src = await restoreFrom(a, 1);
      for (const where of [s3a, s3b, back]) {
        const got = await restoreFrom(where, 1);
        assert.equal(got.manifestHash, src.manifestHash, where);
        assertSameTensors(got.tensors, src.tensors, where);
      }
      const verify = await openStore(s3b, { create: false });
      assert.ok((await verify.verify()).every((r) => r.ok));
      await verify.close();
      const again = await replicate(a, s3a, { partBytes: 5 * MiB });
      assert.deepEqual(again.results.map((r) => r.outcome), ['present', 'present']);
      assert.equal(again.sentBytes, 0);
    });

    test('2.0 chunk digests: each part is verified before it is sent; a damaged chunk is never sent and the upload is aborted', async (t) => {
      const a = join(tempDir(t), 'a');
      const store = await openStore(a);
      await store.save(1, { tensors: { big: bigTensor(21 * MiB, 5) } });
      await store.save(2, { tensors: { big: bigTensor(21 * MiB, 6) } });
      await store.close();
      const chunk = 5 * MiB;
      for (const s of [1, 2]) makeChunked(join(a, `ckpt-00000000000${s}`), chunk);
      // Step 2: one byte of chunk 2 (of 0..4) damaged after the commit.
      flipBit(join(a, 'ckpt-000000000002', 'r0000-p000.safetensors'), 2 * chunk + 1234);
      const dest = `s3://${bucket}/chunked`;
      let sentOfStep2 = 0;
      const report = await replicate(a, dest, { onProgress: (p) => (p.step === 2 ? (sentOfStep2 = p.sentBytes) : undefined) });
      assert.equal(report.results[0]!.outcome, 'copied');
      const failed = report.results[1]!;
      assert.ok(failed.outcome === 'failed' && failed.code === 'HF_CORRUPT' && /chunk 2 /.test(failed.message), JSON.stringify(failed));
      assert.ok(sentOfStep2 <= 2 * chunk, `only the chunks before the damaged one were sent (${sentOfStep2} bytes)`);
      const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'chunked/' }));
      assert.equal(uploads.Uploads?.length ?? 0, 0, 'the refused upload was aborted');
      const durable = await openStore(dest, { create: false });
      assert.deepEqual((await durable.list()).map((c) => c.step), [1]);
      const [v] = await durable.verify(1);
      assert.ok(v!.ok, JSON.stringify(v));
      assert.equal((await durable.inspect(1)).version, '2.0');
      await durable.close();
    });

    test('objects an earlier run completed (killed before its manifest commit) are checked by ETag and not sent again', async (t) => {
      const a = join(tempDir(t), 'a');
      const store = await openStore(a);
      await store.save(1, { tensors: { big: bigTensor(13 * MiB, 8), ...sampleTensors(1) } });
      await store.close();
      const dest = `s3://${bucket}/completed`;
      const first = await replicate(a, dest, { partBytes: 5 * MiB });
      assert.ok(first.sentBytes > 13 * MiB);
      // Un-commit: the attempt's objects stay, as after a kill between the last upload and the commit.
      await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'completed/ckpt-000000000001/manifest.json' }));
      const second = await replicate(a, dest, { partBytes: 5 * MiB });
      assert.equal(second.results[0]!.outcome, 'copied');
      assert.equal(second.sentBytes, 0);
      const durable = await openStore(dest, { create: false });
      assert.ok((await durable.verify()).every((r) => r.ok));
      await durable.close();
    });

    test('a conflicting step in the S3 destination is reported, never overwritten', async (t) => {
      const a = join(tempDir(t), 'a');
      const other = join(tempDir(t), 'other');
      await saveSteps(a, [5]);
      await saveSteps(other, [5]);
      const dest = `s3://${bucket}/conflict`;
      await replicate(other, dest);
      const theirs = await restoreFrom(dest, 5);
      const report = await replicate(a, dest);
      assert.equal(report.results[0]!.outcome, 'conflict');
      assert.equal((await restoreFrom(dest, 5)).manifestHash, theirs.manifestHash);
      const storage = new S3Storage({ bucket, prefix: 'conflict/' });
      assert.deepEqual(await storage.list(), [5]);
      await storage.close();
    });
  });
});
