// Signed manifests for multi-rank stores, with real rank processes (keyed-rank-child.ts, the keys
// from HOLDFAST_HMAC_KEY / HOLDFAST_SIGNING_KEY_FILE / HOLDFAST_VERIFY_KEY_FILE as the CLI reads
// them), on the local backend and on the real S3 server: the leader signs the manifest (HMAC, or
// Ed25519 with the other ranks holding only the public key); rank stores on the saving world size
// and on others verify and restore it bit-exact; a manifest rewritten consistently without the key
// (a rank file's byte and the state changed, every hash recomputed) goes unnoticed without a key and
// is refused and rolled back over with one, as is an unsigned multi-rank checkpoint; a rank whose
// keys would not accept the leader's, or a leader that can only verify, aborts the attempt with the
// key ids named, and nothing commits.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ed25519VerifyKey, hmacKey } from '../../src/format/manifest-signature.js';
import { computeManifestHash } from '../../src/format/manifest.js';
import type { Manifest } from '../../src/format/manifest-types.js';
import { MANIFEST_FILE, SHA256SUMS_FILE } from '../../src/format/names.js';
import { encodeSha256Sums } from '../../src/format/sha256sums.js';
import { openStorage, openStore } from '../../src/store/open-store.js';
import type { RankOptions } from '../../src/store/rank-store.js';
import type { SigningOptions } from '../../src/store/signing-keys.js';
import { firstDifference, globalContent } from '../../src/torture/ranks-content.js';
import { bindFile, rewriteManifest } from '../helpers/tamper.js';
import { s3Suite } from '../helpers/s3-server.js';
import { assertSameTensors } from '../storage/conformance.js';
import type { KeyedRankResult } from './keyed-rank-child.js';
import { assertAllCommitted, runKeyedRanks, type RankRun } from './keyed-ranks.js';

const SEED = 9;
const HMAC = 'the job signing secret, 32 bytes or more';
const OTHER_HMAC = 'another signing secret, also 32+ bytes long';
const hmacId = (secret: string): string => hmacKey(new TextEncoder().encode(secret)).keyId;

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-signed-ranks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An Ed25519 pair in PEM files, as the environment names them: the private key signs, the public one only verifies. */
const keyDir = scratch();
const pair = generateKeyPairSync('ed25519');
writeFileSync(join(keyDir, 'signing.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(join(keyDir, 'verify.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
const ED_ID = ed25519VerifyKey(pair.publicKey).keyId;
const PRIVATE_ENV = { HOLDFAST_SIGNING_KEY_FILE: join(keyDir, 'signing.pem') };
const PUBLIC_ENV = { HOLDFAST_VERIFY_KEY_FILE: join(keyDir, 'verify.pem') };
const PUBLIC_ONLY: SigningOptions = { publicKeyFile: join(keyDir, 'verify.pem') };
const HMAC_ENV = { HOLDFAST_HMAC_KEY: HMAC };

function save(where: string, attempt: string, step: number, envs: NodeJS.ProcessEnv[], resume?: RankRun['resume']): Promise<KeyedRankResult[]> {
  return runKeyedRanks({ where, attempt, step, seed: SEED, big: false, ...(resume === undefined ? {} : { resume }) }, envs);
}

function assertAllAborted(results: KeyedRankResult[], ...needles: string[]): void {
  for (const r of results) {
    assert.ok(r.outcome === 'rejected' && r.code === 'HF_ABORTED', `rank ${r.rank}: ${r.outcome} ${r.code}: ${r.message}`);
    for (const n of needles) assert.ok(r.message!.includes(n), `rank ${r.rank}'s error names ${n}: ${r.message}`);
  }
}

/** Restores the newest checkpoint as rank `rank` of `worldSize` (never rank 0: a reader must not record an epoch). */
async function restoreAsRank(where: string, signing: SigningOptions | undefined, rank: number, worldSize: number) {
  const options: RankOptions & { signing?: SigningOptions } = { rank, worldSize, attempt: `reader-${rank}-${worldSize}-${Date.now()}`, ...(signing === undefined ? {} : { signing }) };
  const store = await openStore(where, options);
  try {
    return await store.restore();
  } finally {
    await store.close();
  }
}

async function committedSteps(where: string): Promise<number[]> {
  const plain = await openStore(where);
  try {
    return (await plain.list()).map((c) => c.step);
  } finally {
    await plain.close();
  }
}

/** What a rewrite needs of a backend: the stored bytes at a location, and the manifest rewritten in place. */
interface Objects {
  read(location: string): Promise<Uint8Array>;
  write(location: string, bytes: Uint8Array): Promise<void>;
  rewriteManifest(location: string, edit: (m: Manifest) => void): Promise<void>;
}

/**
 * What someone with write access but no key does: flips the last byte of rank 1's largest file,
 * binds the new bytes into its manifest entry, changes the state, recomputes `manifestHash` and
 * SHA256SUMS. Every digest matches; only the signature (left as it was) does not.
 */
async function rewriteConsistently(where: string, step: number, objects: Objects): Promise<void> {
  const storage = await openStorage(where);
  try {
    const reader = (await storage.open(step))!;
    const manifestAt = reader.locate(MANIFEST_FILE);
    const before = JSON.parse(new TextDecoder().decode(await objects.read(manifestAt))) as Manifest;
    const path = before.files.filter((f) => f.rank === 1).sort((a, b) => b.size - a.size)[0]!.path;
    const bytes = await objects.read(reader.locate(path));
    bytes[bytes.byteLength - 1] = bytes[bytes.byteLength - 1]! ^ 0x40;
    await objects.write(reader.locate(path), bytes);
    await objects.rewriteManifest(manifestAt, (m) => {
      bindFile(m.files.find((f) => f.path === path)!, bytes);
      m.state = { step, seed: SEED, rewritten: true };
    });
    const after = JSON.parse(new TextDecoder().decode(await objects.read(manifestAt))) as Manifest;
    assert.equal(after.manifestHash, computeManifestHash(after), 'the rewrite is resealed');
    assert.ok(after.signature !== undefined, 'the old signature is left in place');
    await objects.write(reader.locate(SHA256SUMS_FILE), encodeSha256Sums(after.files));
  } finally {
    await storage.close?.();
  }
}

/** Step `step` was rewritten: a store without a key takes it as it is (the rewrite is undetectable there). */
async function assertUnnoticedWithoutKey(where: string, step: number, savedBy: number): Promise<void> {
  const plain = await openStore(where);
  try {
    assert.equal((await plain.latest())?.step, step, 'without a key the rewritten checkpoint is the newest valid one');
    const r = await plain.restore();
    assert.deepEqual(r.state, { step, seed: SEED, rewritten: true });
    assert.notEqual(firstDifference(r.tensors, globalContent(SEED, step, savedBy).tensors), undefined, 'the rewritten byte is restored (the check can fail)');
  } finally {
    await plain.close();
  }
}

function signedRanksSuite(where: string, objects: Objects): void {
  const hmacRoot = `${where}/hmac`;
  const edRoot = `${where}/ed25519`;
  const hmacOnly: SigningOptions = { hmacKey: HMAC };

  test('HMAC: 4 rank processes save; the leader signs the manifest; rank stores on 4 and on 3 ranks verify it and restore bit-exact', async () => {
    assertAllCommitted(await save(hmacRoot, 'job-1', 1, [HMAC_ENV, HMAC_ENV, HMAC_ENV, HMAC_ENV]));
    const keyed = await openStore(hmacRoot, { signing: hmacOnly });
    try {
      const m = await keyed.inspect(1);
      assert.equal(m.signature?.alg, 'hmac-sha256');
      assert.equal(m.signature?.keyId, hmacId(HMAC));
      assert.equal(m.world.size, 4);
      assert.deepEqual((await keyed.verify()).map((r) => [r.step, r.ok]), [[1, true]]);
    } finally {
      await keyed.close();
    }
    for (const [rank, worldSize] of [[3, 4], [1, 3]] as const) {
      const r = await restoreAsRank(hmacRoot, hmacOnly, rank, worldSize);
      assert.equal(r.step, 1);
      assert.deepEqual(r.skipped, []);
      assertSameTensors(r.tensors, globalContent(SEED, 1, 4).tensors, `restored by rank ${rank} of ${worldSize}`);
    }
  });

  test('HMAC: a consistent rewrite of a signed 4-rank checkpoint goes unnoticed without the key; a rank store with it refuses it, quarantines it and rolls back', async () => {
    const results = await save(hmacRoot, 'job-2', 2, [HMAC_ENV, HMAC_ENV, HMAC_ENV, HMAC_ENV], { step: 1, worldSize: 4 });
    assertAllCommitted(results);
    for (const r of results) assert.deepEqual(r.resumed, { step: 1, difference: null }, `rank ${r.rank} verified and restored step 1`);
    await rewriteConsistently(hmacRoot, 2, objects);
    await assertUnnoticedWithoutKey(hmacRoot, 2, 4);
    const r = await restoreAsRank(hmacRoot, hmacOnly, 2, 3);
    assert.equal(r.step, 1, 'rolled back over the rewritten checkpoint');
    assert.deepEqual(r.skipped.map((s) => s.step), [2]);
    assert.match(r.skipped[0]!.reason, new RegExp(`signature by key ${hmacId(HMAC)} \\(hmac-sha256\\) does not match the manifest`));
    assertSameTensors(r.tensors, globalContent(SEED, 1, 4).tensors, 'the previous checkpoint');
    assert.deepEqual(await committedSteps(hmacRoot), [1], 'the rewritten checkpoint was quarantined');
  });

  test('an unsigned multi-rank checkpoint (3 ranks without keys) is refused by a keyed rank store and rolled back over', async () => {
    assertAllCommitted(await save(hmacRoot, 'job-3', 3, [{}, {}, {}], { step: 1, worldSize: 4 }));
    assert.deepEqual(await committedSteps(hmacRoot), [1, 3]);
    const r = await restoreAsRank(hmacRoot, hmacOnly, 1, 2);
    assert.equal(r.step, 1);
    assert.deepEqual(r.skipped.map((s) => s.step), [3]);
    assert.match(r.skipped[0]!.reason, new RegExp(`unsigned, and this store requires a signature by ${hmacId(HMAC)}`));
  });

  test('a rank with another HMAC key, and one that verifies only another key: the leader aborts naming each rank and key id, nothing commits', async () => {
    const before = await committedSteps(hmacRoot);
    const results = await save(hmacRoot, 'job-4', 4, [HMAC_ENV, { HOLDFAST_HMAC_KEY: OTHER_HMAC }, PUBLIC_ENV, {}]);
    assertAllAborted(
      results,
      `rank 1 signs with key ${hmacId(OTHER_HMAC)} (hmac-sha256), the leader (rank 0) with key ${hmacId(HMAC)} (hmac-sha256)`,
      `rank 2 accepts only manifests signed by key ${ED_ID} (ed25519), the leader (rank 0) signs with key ${hmacId(HMAC)} (hmac-sha256)`,
    );
    for (const r of results) assert.doesNotMatch(r.message!, /rank 3/, 'a rank without keys is accepted');
    assert.deepEqual(await committedSteps(hmacRoot), before, 'nothing committed');
  });

  test('Ed25519: the leader holds the private key, the other ranks only the public one; readers with only the public key restore on 3 and 2 ranks and roll back over a consistent rewrite', async () => {
    assertAllCommitted(await save(edRoot, 'job-e1', 1, [PRIVATE_ENV, PUBLIC_ENV, PUBLIC_ENV]));
    const reader = await openStore(edRoot, { signing: PUBLIC_ONLY });
    try {
      const m = await reader.inspect(1);
      assert.equal(m.signature?.alg, 'ed25519');
      assert.equal(m.signature?.keyId, ED_ID);
    } finally {
      await reader.close();
    }
    for (const [rank, worldSize] of [[2, 3], [1, 2]] as const) {
      const r = await restoreAsRank(edRoot, PUBLIC_ONLY, rank, worldSize);
      assert.equal(r.step, 1);
      assertSameTensors(r.tensors, globalContent(SEED, 1, 3).tensors, `restored by rank ${rank} of ${worldSize} with only the public key`);
    }
    const second = await save(edRoot, 'job-e2', 2, [PRIVATE_ENV, PUBLIC_ENV, PUBLIC_ENV, PUBLIC_ENV], { step: 1, worldSize: 3 });
    assertAllCommitted(second);
    for (const r of second) assert.deepEqual(r.resumed, { step: 1, difference: null });
    await rewriteConsistently(edRoot, 2, objects);
    await assertUnnoticedWithoutKey(edRoot, 2, 4);
    const r = await restoreAsRank(edRoot, PUBLIC_ONLY, 1, 3);
    assert.equal(r.step, 1);
    assert.deepEqual(r.skipped.map((s) => s.step), [2]);
    assert.match(r.skipped[0]!.reason, new RegExp(`signature by key ${ED_ID} \\(ed25519\\) does not match the manifest`));
    assertSameTensors(r.tensors, globalContent(SEED, 1, 3).tensors, 'the previous checkpoint');
  });

  test('a leader holding only the public key cannot sign: every rank is told, nothing commits', async () => {
    const before = await committedSteps(edRoot);
    assertAllAborted(await save(edRoot, 'job-e3', 3, [PUBLIC_ENV, PUBLIC_ENV]), `the leader (rank 0) holds only verify keys (key ${ED_ID} (ed25519))`, 'needs the private or HMAC key');
    assert.deepEqual(await committedSteps(edRoot), before);
  });
}

const localFiles: Objects = {
  read: async (location) => new Uint8Array(readFileSync(location)),
  write: async (location, bytes) => writeFileSync(location, bytes),
  rewriteManifest: async (location, edit) => rewriteManifest(dirname(location), edit),
};

describe('signed multi-rank saves on a local store', () => {
  signedRanksSuite(join(scratch(), 'store'), localFiles);
});

s3Suite('signed multi-rank saves on S3', (b) => {
  signedRanksSuite(`s3://${b.bucket}/signed-ranks`, s3Objects(b.admin));
});

function s3Objects(admin: S3Client): Objects {
  const split = (location: string): { Bucket: string; Key: string } => {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
    assert.ok(m !== null, `an s3:// location: ${location}`);
    return { Bucket: m[1]!, Key: m[2]! };
  };
  const read = async (location: string): Promise<Uint8Array> => (await admin.send(new GetObjectCommand(split(location)))).Body!.transformToByteArray();
  const write = async (location: string, bytes: Uint8Array): Promise<void> => {
    await admin.send(new PutObjectCommand({ ...split(location), Body: bytes }));
  };
  return {
    read,
    write,
    rewriteManifest: async (location, edit) => {
      const m = JSON.parse(new TextDecoder().decode(await read(location))) as Manifest;
      edit(m);
      m.manifestHash = computeManifestHash(m);
      await write(location, new TextEncoder().encode(JSON.stringify(m, null, 2)));
    },
  };
}
