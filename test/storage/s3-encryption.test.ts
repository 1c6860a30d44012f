// Encryption at rest on a real S3 server: an encrypted save (multipart: records of 8 MiB + 16 bytes
// in parts cut on the stored bytes) restores bit-exact whole and by layout (ranged GETs widened to
// the stored chunk grid, then to whole records), verifies without the key, and a restore without
// the key is HF_KEY naming it, with nothing quarantined.
import assert from 'node:assert/strict';
import test from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newNonce } from '../../src/format/nonce.js';
import { DEFAULT_CHUNK_BYTES } from '../../src/format/manifest-types.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { openStore } from '../../src/store/open-store.js';
import type { StoreEvent, TieredStore } from '../../src/store/types.js';
import { expectRejection } from '../format/fixtures.js';
import { bigTensor } from '../helpers/big-tensor.js';
import { s3Suite } from '../helpers/s3-server.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';
import { assertSameTensors } from './conformance.js';

const KEY = 'an encryption secret of at least 32 bytes';

s3Suite('encryption at rest on S3', (b) => {
  test('encrypted save and restore on S3: whole, by layout (ranged GETs), verify without the key, HF_KEY without it', async () => {
    const prefix = `enc/${newNonce()}/`;
    const storage = new S3Storage({ bucket: b.bucket, prefix });
    const events: StoreEvent[] = [];
    const store = await openStore({ storage }, { encryption: { key: KEY }, onEvent: (e) => events.push(e) });
    const want = { ...sampleTensors(3), big: bigTensor(2 * DEFAULT_CHUNK_BYTES + 12345, 3) };
    await store.save(1, { tensors: want, state: { step: 1 } });
    const m = await store.inspect(1);
    assert.equal(m.encryption?.alg, 'aes-256-gcm');
    assert.ok(m.files.every((f) => f.encrypted !== undefined && f.size > f.encrypted.plainSize));
    assertSameTensors((await store.restore()).tensors, want, 'whole restore from S3');
    const begin = DEFAULT_CHUNK_BYTES * 2 - 77;
    const parts = await store.restore({ layout: { big: { offset: [begin], shape: [1000] } } });
    assert.ok(bytesOf(parts.tensors.big!).equals(bytesOf(want.big).subarray(begin, begin + 1000)), 'a range across a record boundary, by ranged GETs');
    await store.close();

    const keylessStorage = new S3Storage({ bucket: b.bucket, prefix });
    const keyless = await openStore({ storage: keylessStorage }, { onEvent: (e) => events.push(e) });
    assert.ok((await keyless.verify()).every((r) => r.ok), 'verified on the stored bytes, no key needed');
    await expectRejection(keyless.restore(), 'HF_KEY', m.encryption!.keyId);
    assert.deepEqual(await keylessStorage.list(), [1]);
    assert.deepEqual(events, [], 'nothing quarantined');
    await keyless.close();
  });

  test('a tiered store uploads the stored (encrypted) bytes as they are; a replaced node restores from S3 with the key, and not without', async (t) => {
    const local = join(mkdtempSync(join(tmpdir(), 'holdfast-enc-')), 'local');
    t.after(() => rmSync(local, { recursive: true, force: true }));
    const durable = `s3://${b.bucket}/enc-tiered/${newNonce()}`;
    const store = (await openStore({ local, durable }, { encryption: { key: KEY } })) as TieredStore;
    await store.save(1, { tensors: sampleTensors(1), state: { s: 1 } });
    await store.flush();
    await store.close();
    rmSync(local, { recursive: true });
    const keyless = (await openStore({ local, durable, upload: 'manual' }, {})) as TieredStore;
    await expectRejection(keyless.restore(), 'HF_KEY', 'encrypted with key aes-');
    await keyless.close();
    const fresh = (await openStore({ local, durable, upload: 'manual' }, { encryption: { key: KEY } })) as TieredStore;
    const r = await fresh.restore();
    assert.ok(r.path.startsWith(durable), r.path);
    assertSameTensors(r.tensors, sampleTensors(1), 'from the durable tier');
    await fresh.close();
  });
});
