import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { signingFromEnv } from '../../src/store/signing-keys.js';
import type { StoreEvent } from '../../src/store/types.js';
import { expectRejection } from '../format/fixtures.js';
import { rewriteManifest } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf, sampleTensors } from '../helpers/tensors.js';

const HMAC = 'a shared secret of at least thirty-two bytes';

describe('signed manifests', () => {
  test('a consistent rewrite of a signed checkpoint is quarantined and rolled back over', async (t) => {
    const dir = tempDir(t);
    const events: StoreEvent[] = [];
    const store = await openStore(dir, { signing: { hmacKey: HMAC }, onEvent: (e) => events.push(e) });
    t.after(() => store.close());
    await store.save(1, { tensors: sampleTensors(1), state: { lr: 0.1 } });
    await store.save(2, { tensors: sampleTensors(2), state: { lr: 0.2 } });
    assert.equal((await store.inspect(2)).signature?.alg, 'hmac-sha256');
    // The attacker changes the state and recomputes every hash, but cannot sign.
    rewriteManifest(join(dir, 'ckpt-000000000002'), (m) => {
      m.state = { lr: 99 };
    });
    const parts = await store.restore({ layout: { 'f32.weight': { offset: [2, 0], shape: [2, 5] } } });
    assert.equal(parts.step, 1, 'a resharding restore checks the signature too');
    assert.deepEqual(Array.from(parts.tensors['f32.weight']!.data as Float32Array), Array.from((sampleTensors(1)['f32.weight']!.data as Float32Array).subarray(10, 20)));
    const restored = await store.restore();
    assert.equal(restored.step, 1);
    assert.deepEqual(bytesOf(restored.tensors['f32.weight']!), bytesOf(sampleTensors(1)['f32.weight']!));
    assert.match(parts.skipped[0]!.reason, /signature by key hmac-[0-9a-f]{16} \(hmac-sha256\) does not match the manifest/);
    assert.ok(events.some((e) => e.type === 'quarantined' && e.step === 2));
  });

  test('without a key the same rewrite goes unnoticed: that is what the key is for', async (t) => {
    const dir = tempDir(t);
    const signer = await openStore(dir, { signing: { hmacKey: HMAC } });
    await signer.save(1, { tensors: sampleTensors(1), state: { lr: 0.1 } });
    await signer.close();
    rewriteManifest(join(dir, 'ckpt-000000000001'), (m) => {
      m.state = { lr: 99 };
    });
    const plain = await openStore(dir);
    t.after(() => plain.close());
    assert.deepEqual((await plain.restore()).state, { lr: 99 });
  });

  test('a keyed store refuses unsigned checkpoints, and one with only the public key reads but cannot save', async (t) => {
    const dir = tempDir(t);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyDir = tempDir(t);
    writeFileSync(join(keyDir, 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(keyDir, 'verify.pem'), publicKey.export({ type: 'spki', format: 'pem' }));

    const unsignedWriter = await openStore(dir);
    await unsignedWriter.save(1, { tensors: sampleTensors(1) });
    await unsignedWriter.close();

    const writer = await openStore(dir, { signing: signingFromEnv({ HOLDFAST_SIGNING_KEY_FILE: join(keyDir, 'signing.pem') })! });
    await writer.save(2, { tensors: sampleTensors(2) });
    assert.equal((await writer.inspect(2)).signature?.alg, 'ed25519');
    const [r1, r2] = await writer.verify();
    assert.equal(r1!.ok, false);
    assert.equal(r1!.problems[0]!.reason, 'signature');
    assert.match(r1!.problems[0]!.message, /unsigned, and this store requires a signature by ed25519-/);
    assert.equal(r2!.ok, true);
    await writer.close();

    const reader = await openStore(dir, { signing: { publicKeyFile: join(keyDir, 'verify.pem') } });
    t.after(() => reader.close());
    assert.equal((await reader.restore()).step, 2);
    await expectRejection(reader.save(3, { tensors: sampleTensors(3) }), 'HF_INVALID_ARG', 'only a public key', 'saving needs the private or HMAC key');
  });

  test('key problems are usage errors naming the key', async (t) => {
    const dir = tempDir(t);
    await expectRejection(openStore(dir, { signing: { hmacKey: 'short' } }), 'HF_INVALID_ARG', 'at least 32 bytes, found 5');
    await expectRejection(openStore(dir, { signing: { privateKeyFile: join(dir, 'missing.pem') } }), 'HF_INVALID_ARG', 'missing.pem');
    writeFileSync(join(dir, 'junk.pem'), 'not a key');
    await expectRejection(openStore(dir, { signing: { publicKeyFile: join(dir, 'junk.pem') } }), 'HF_INVALID_ARG', 'junk.pem', 'expected a PEM key');
    await expectRejection(openStore(dir, { signing: {} }), 'HF_INVALID_ARG', 'name no key');
    assert.equal(signingFromEnv({}), undefined);
  });
});
