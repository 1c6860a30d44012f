// Chunk digests on the S3 data path, against the real server (Ceph RGW; see test/helpers/s3-server.ts:
// without it this file is skipped, and under CI that fails):
// uploads are cut into parts of the chunk size whose SHA-256 checksum header is the manifest's chunk
// digest; restores are ranged GETs verified chunk by chunk, and a damaged object is quarantined and
// rolled back past.
import { asVersion1 } from '../helpers/tamper.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_CHUNK_BYTES, type Manifest } from '../../src/format/manifest-types.js';
import { checkpointDirName } from '../../src/format/names.js';
import { encodeSha256Sums } from '../../src/format/sha256sums.js';
import { newNonce } from '../../src/format/nonce.js';
import { openStore } from '../../src/store/open-store.js';
import { sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors } from './conformance.js';
import { s3Suite } from '../helpers/s3-server.js';

const C = DEFAULT_CHUNK_BYTES;

/** A tensor of `n` bytes that spans chunks, deterministic from `seed`. */
function bigTensor(n: number, seed: number) {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 131 + seed + (i >>> 12)) & 0xff;
  return { big: { dtype: 'U8' as const, shape: [n], data } };
}

s3Suite('S3 chunk digests against a real server', ({ bucket, admin, storage: s3Storage }) => {
  async function manifestOf(prefix: string, step: number): Promise<Manifest> {
    const r = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${checkpointDirName(step)}/manifest.json` }));
    return JSON.parse(await r.Body!.transformToString()) as Manifest;
  }

  describe('S3: parts are chunks, restores verify every chunk', () => {
    test("each part of a multi-chunk object is one chunk, and its x-amz-checksum-sha256 is the manifest's digest of that chunk", async () => {
      const prefix = `parts/${newNonce()}/`;
      const storage = s3Storage(prefix);
      const sent: { part: number; sha256: string; bytes: number }[] = [];
      storage.client.s3.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'UploadPartCommand') {
            const input = args.input as { PartNumber: number; Body: Uint8Array };
            const headers = (args.request as { headers: Record<string, string> }).headers;
            sent.push({ part: input.PartNumber, sha256: headers['x-amz-checksum-sha256']!, bytes: input.Body.byteLength });
          }
          return next(args);
        },
        { step: 'finalizeRequest', name: 'recordPartChecksums' },
      );
      const store = await openStore({ storage });
      await store.save(1, { tensors: bigTensor(2 * C + 1000, 1), state: null });
      const file = (await manifestOf(prefix, 1)).files[0]!;
      assert.equal(file.chunks!.sha256.length, 3);
      sent.sort((a, b) => a.part - b.part);
      assert.deepEqual(
        sent.map((s) => s.sha256),
        file.chunks!.sha256.map((hex) => Buffer.from(hex, 'hex').toString('base64')),
        'one part per chunk, each sent with that chunk digest',
      );
      assert.deepEqual(sent.map((s) => s.bytes), [C, C, file.size - 2 * C]);
      await store.close();
    });

    test('a multi-chunk checkpoint restores bit-exact through ranged GETs of one chunk, four in flight; a damaged first chunk stops the read', async () => {
      const prefix = `restore/${newNonce()}/`;
      const store = await openStore({ storage: s3Storage(prefix) });
      const tensors = { ...sampleTensors(4), ...bigTensor(5 * C + 7, 4) };
      await store.save(4, { tensors, state: { at: 4 } });
      const m = await manifestOf(prefix, 4);
      const shard = m.files.find((f) => f.chunks!.sha256.length === 6)!;
      const key = `${prefix}${checkpointDirName(4)}/${m.nonce}/${shard.path}`;
      const reader = s3Storage(prefix);
      const ranges: string[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      reader.client.s3.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string; Range?: string };
          if (context.commandName !== 'GetObjectCommand' || input.Key !== key || input.Range === undefined) return next(args);
          ranges.push(input.Range);
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          try {
            return await next(args);
          } finally {
            inFlight--;
          }
        },
        { step: 'initialize', name: 'recordRanges' },
      );
      const restored = await (await openStore({ storage: reader })).restore(4);
      assertSameTensors(restored.tensors, tensors, 'restored from S3');
      const expected = shard.chunks!.sha256.map((_, i) => `bytes=${i * C}-${Math.min((i + 1) * C, shard.size) - 1}`);
      assert.deepEqual(ranges.filter((r) => expected.includes(r)).sort(), [...expected].sort(), 'every chunk read once as its own range');
      assert.equal(maxInFlight, 4, 'four chunk GETs in flight, no more');

      const stored = Buffer.from(await (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
      stored[3]! ^= 1;
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: stored }));
      ranges.length = 0;
      const [report] = await (await openStore({ storage: reader })).verify(4);
      assert.deepEqual(report!.problems.map((p) => p.chunk?.index), [0]);
      assert.ok(ranges.filter((r) => expected.includes(r)).length <= 4, `the read stopped at the damaged chunk: ${ranges.join(', ')}`);
      await store.close();
    });

    test('a byte damaged in a stored object (overwritten through the SDK): verify names its chunk; restore quarantines it and rolls back, bytes equal', async () => {
      const prefix = `damage/${newNonce()}/`;
      const store = await openStore({ storage: s3Storage(prefix) });
      await store.save(1, { tensors: sampleTensors(1), state: 1 });
      await store.save(2, { tensors: bigTensor(2 * C + 5, 2), state: 2 });
      const m = await manifestOf(prefix, 2);
      const key = `${prefix}${checkpointDirName(2)}/${m.nonce}/${m.files[0]!.path}`;
      const stored = Buffer.from(await (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
      stored[C + 10]! ^= 0x40;
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: stored }));

      const [, report] = await store.verify();
      assert.equal(report!.ok, false);
      assert.deepEqual(report!.problems[0]!.chunk, { index: 1, byteRange: [C, 2 * C] });
      assert.match(report!.problems[0]!.message, /chunk 1 \(bytes 8388608\.\.16777216\) SHA-256 mismatch/);

      const restored = await store.restore();
      assert.equal(restored.step, 1);
      assert.deepEqual(restored.skipped.map((s) => s.step), [2]);
      assertSameTensors(restored.tensors, sampleTensors(1), 'rolled back to step 1');
      assert.deepEqual((await store.list()).map((c) => c.step), [1], 'step 2 un-committed');
      const quarantined = await s3Storage(prefix).client.list(`${prefix}quarantine/`);
      assert.ok(quarantined.some((o) => o.key.endsWith('/manifest.json')), 'its manifest kept in quarantine');
      assert.ok((await s3Storage(prefix).client.head(key)) !== undefined, 'the damaged object is kept, not deleted');
      await store.close();
    });

    test('a 1.0 checkpoint on S3 (no chunk digests) still restores, checked by the whole-file hash', async () => {
      const prefix = `v1/${newNonce()}/`;
      const storage = s3Storage(prefix);
      const store = await openStore({ storage });
      const tensors = bigTensor(C + 3, 9);
      await store.save(7, { tensors, state: null });
      const m = await manifestOf(prefix, 7);
      const bytes = new Map<string, Uint8Array>();
      for (const f of m.files) bytes.set(f.path, (await storage.client.get(`${prefix}${checkpointDirName(7)}/${m.nonce}/${f.path}`))!.bytes);
      asVersion1(m, (f) => bytes.get(f)!);
      // 1.0 lists every file in SHA256SUMS (2.1 only those recorded by plain SHA-256).
      await storage.client.put(`${prefix}${checkpointDirName(7)}/${m.nonce}/SHA256SUMS`, encodeSha256Sums(m.files));
      await storage.client.put(`${prefix}${checkpointDirName(7)}/manifest.json`, new TextEncoder().encode(JSON.stringify(m)));
      const restored = await (await openStore({ storage: s3Storage(prefix) })).restore(7);
      assertSameTensors(restored.tensors, tensors, '1.0 restore from S3');
      assert.equal(restored.manifest.version, '1.0');
      await store.close();
    });
  });
});
