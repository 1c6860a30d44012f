// The fault proxy between the SDK and the real server: each fault does what it says, seen from
// the client (the error it gets) and from the server (what was stored).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isHoldfastError } from '../../src/errors.js';
import { S3ObjectClient } from '../../src/storage/s3-object-client.js';
import { s3ClientConfigFromEnv } from '../../src/storage/s3-storage.js';
import { contentMd5 } from '../../src/storage/s3-upload.js';
import { S3FaultProxy, WIRE_FAULTS, seededFaults, type FaultDecision, type ProxiedRequest } from '../../src/torture/s3-fault-proxy.js';
import { s3Suite } from '../helpers/s3-server.js';

const status = (e: unknown): number | undefined => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const errName = (e: unknown): string | undefined => (e as { name?: string }).name;

test('seededFaults: the same seed and request give the same decision; about `rate` of requests are hit; body faults only where there is a body', () => {
  const req = (index: number, method = 'PUT', bodyBytes = 100): ProxiedRequest => ({ index, method, path: '/b/k', bodyBytes });
  const a = seededFaults(7, 'drop', 0.3);
  const b = seededFaults(7, 'drop', 0.3);
  const decisions: FaultDecision[] = [];
  for (let i = 0; i < 2000; i++) {
    decisions.push(a(req(i)));
    assert.deepEqual(a(req(i)), b(req(i)));
  }
  const hit = decisions.filter((d) => d.fault === 'drop').length;
  assert.ok(hit > 500 && hit < 700, `${hit} of 2000 at rate 0.3`);
  assert.notDeepEqual(decisions.map((d) => d.fault), Array.from({ length: 2000 }, (_, i) => seededFaults(8, 'drop', 0.3)(req(i)).fault));
  const flips = seededFaults(1, 'flip-byte', 1);
  assert.equal(flips(req(0, 'GET', 0)).fault, 'pass');
  assert.equal(flips(req(0, 'POST', 100)).fault, 'pass', 'only PUT bodies carry Content-MD5');
  assert.equal(flips(req(0)).fault, 'flip-byte');
  assert.equal(seededFaults(1, 'lost-response', 1)(req(0, 'GET', 0)).fault, 'pass');
  assert.ok(WIRE_FAULTS.includes('slowdown'));
});

s3Suite('the S3 fault proxy', (b) => {
  async function through(decide: (r: ProxiedRequest) => FaultDecision, maxAttempts = 1): Promise<{ proxy: S3FaultProxy; s3: S3Client; done: () => Promise<void> }> {
    const proxy = await S3FaultProxy.start({ upstream: process.env.AWS_ENDPOINT_URL!, decide });
    const s3 = new S3Client({ ...s3ClientConfigFromEnv(process.env), endpoint: proxy.endpoint, maxAttempts });
    return { proxy, s3, done: async () => { s3.destroy(); await proxy.close(); } };
  }
  const put = (s3: S3Client, key: string, body: Uint8Array) => s3.send(new PutObjectCommand({ Bucket: b.bucket, Key: key, Body: body, ContentMD5: contentMd5(body) }));
  const exists = async (key: string): Promise<boolean> =>
    b.admin.send(new HeadObjectCommand({ Bucket: b.bucket, Key: key })).then(() => true, (e) => (status(e) === 404 ? false : Promise.reject(e)));

  test('pass and delay forward untouched; 500, 503 and SlowDown are answered without reaching the server', async () => {
    const plan: FaultDecision[] = [{ fault: 'pass' }, { fault: 'delay', delayMs: 50 }, { fault: 'error-500' }, { fault: 'error-503' }, { fault: 'slowdown' }];
    const { proxy, s3, done } = await through((r) => plan[r.index] ?? { fault: 'pass' });
    try {
      const body = randomBytes(3000);
      await put(s3, 'proxy/pass', body);
      const got = await s3.send(new GetObjectCommand({ Bucket: b.bucket, Key: 'proxy/pass' }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
      for (const [key, code, name] of [['proxy/500', 500, 'InternalError'], ['proxy/503', 503, 'ServiceUnavailable'], ['proxy/slow', 503, 'SlowDown']] as const) {
        await assert.rejects(put(s3, key, body), (e) => status(e) === code && errName(e) === name, key);
        assert.equal(await exists(key), false, `${key} never reached the server`);
      }
      assert.deepEqual(proxy.events.map((e) => e.fault), ['pass', 'delay', 'error-500', 'error-503', 'slowdown']);
      assert.deepEqual(proxy.events.map((e) => e.upstreamStatus), [200, 200, undefined, undefined, undefined]);
    } finally {
      await done();
    }
  });

  test('the SDK retries injected 5xx and throttling within its attempts', async () => {
    const { proxy, s3, done } = await through((r) => ({ fault: r.index < 3 ? (['error-500', 'error-503', 'slowdown'] as const)[r.index]! : 'pass' }), 5);
    try {
      await put(s3, 'proxy/retried', randomBytes(100));
      assert.equal(await exists('proxy/retried'), true);
      assert.equal(proxy.events.length, 4);
    } finally {
      await done();
    }
  });

  test('drop mid-body: a cut upload stores nothing; a cut download is read again by S3ObjectClient, and fails typed when every try is cut', async () => {
    const { proxy, s3, done } = await through((r) => ({ fault: r.index === 0 || r.index === 2 || r.index >= 4 ? 'drop' : 'pass', at: 0.5 }));
    try {
      const body = randomBytes(2 ** 20);
      await assert.rejects(put(s3, 'proxy/drop', body), (e) => status(e) === undefined);
      assert.equal(await exists('proxy/drop'), false, 'a truncated body is not an object');
      await put(s3, 'proxy/drop', body);
      const client = new S3ObjectClient(s3, b.bucket, { concurrency: 1 });
      assert.ok(Buffer.from((await client.get('proxy/drop'))!.bytes).equals(body), 'the cut GET was sent again');
      assert.deepEqual(proxy.events.map((e) => e.fault), ['drop', 'pass', 'drop', 'pass']);
      await assert.rejects(client.get('proxy/drop'), (e) => isHoldfastError(e, 'HF_IO'));
      assert.equal(proxy.events.length, 7, 'three tries, all cut');
    } finally {
      await done();
    }
  });

  test('lost response: the PUT took effect on the server, and the client was never told', async () => {
    const { proxy, s3, done } = await through((r) => ({ fault: r.index === 0 ? 'lost-response' : 'pass' }));
    try {
      const body = randomBytes(5000);
      await assert.rejects(put(s3, 'proxy/lost', body), (e) => status(e) === undefined);
      const got = await b.admin.send(new GetObjectCommand({ Bucket: b.bucket, Key: 'proxy/lost' }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
      assert.equal(proxy.events[0]!.upstreamStatus, 200);
    } finally {
      await done();
    }
  });
});
