// A PUT that took effect on the real server and whose response was lost (the fault proxy forwards
// it, then kills the client's connection): the SDK's retry then meets its own write, and the
// S3 client must recognise it as its own rather than someone else's.
import assert from 'node:assert/strict';
import test from 'node:test';
import { newNonce } from '../../src/format/nonce.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { S3FaultProxy, type ProxiedRequest } from '../../src/torture/s3-fault-proxy.js';
import { s3Suite } from '../helpers/s3-server.js';

s3Suite('S3 lost responses', (b) => {
  /** A client whose `n`-th PUT (0-based, counted from now) loses its response. */
  async function losingPut(n: number): Promise<{ storage: S3Storage; proxy: S3FaultProxy; arm: () => void }> {
    let puts = -1;
    let armed = false;
    const proxy = await S3FaultProxy.start({
      upstream: process.env.AWS_ENDPOINT_URL!,
      decide: (r: ProxiedRequest) => ({ fault: armed && r.method === 'PUT' && ++puts === n ? 'lost-response' : 'pass' }),
    });
    return { storage: new S3Storage({ bucket: b.bucket, prefix: '' }, { client: { endpoint: proxy.endpoint } }), proxy, arm: () => (armed = true) };
  }

  test('exclusive create whose response was lost: the retry finds our own bytes and reports created; other bytes stay "exists"', async () => {
    const { storage, proxy, arm } = await losingPut(0);
    try {
      const key = `lost/${newNonce()}`;
      arm();
      assert.equal(await storage.client.putIfAbsent(key, new TextEncoder().encode('mine')), true);
      assert.equal(proxy.events.filter((e) => e.fault === 'lost-response').length, 1);
      assert.equal(await storage.client.putIfAbsent(key, new TextEncoder().encode('theirs')), false);
      assert.equal(new TextDecoder().decode((await storage.client.get(key))!.bytes), 'mine');
    } finally {
      await storage.close();
      await proxy.close();
    }
  });

  test('conditional delete whose tombstone PUT lost its response: it still wins, and no tombstone is left to block the key', async () => {
    const { storage, proxy, arm } = await losingPut(0);
    try {
      const key = `lost/${newNonce()}`;
      await storage.client.put(key, new TextEncoder().encode('record'));
      const version = (await storage.client.head(key))!.version;
      arm();
      assert.equal(await storage.client.deleteIfMatch(key, version), true);
      assert.equal(proxy.events.filter((e) => e.fault === 'lost-response').length, 1);
      assert.deepEqual(await storage.client.list(key), [], 'no tombstone left');
      assert.equal(await storage.client.putIfAbsent(key, new TextEncoder().encode('next')), true, 'created again at once');
    } finally {
      await storage.close();
      await proxy.close();
    }
  });
});
