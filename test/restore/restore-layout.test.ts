// Resharding restore through the public store: bytes restored into any layout equal those of a
// single-process save of the same global tensors (N → M over row, column, grid and flat slabs, many
// dtypes, odd shapes, 0-d and empty tensors); a flipped bit in a chunk that is read is caught and
// rolled back like any corruption; an unread chunk is never read (bytes counted through the
// storage's readers); on the local store (memory and real disk) and on S3 (real server).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { isHoldfastError } from '../../src/errors.js';
import { elementBytes, type Tensor } from '../../src/format/dtype.js';
import { isFlatSlab, type Manifest } from '../../src/format/manifest-types.js';
import { MANIFEST_FILE, checkpointDirName } from '../../src/format/names.js';
import { readWholeFile } from '../../src/fs/file-utils.js';
import { replaceFile } from '../../src/torture/corruption/file-edits.js';
import { newNonce } from '../../src/format/nonce.js';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { IoRuntime } from '../../src/io/io-runtime.js';
import type { RestoreLayout, TensorPart } from '../../src/restore/tensor-part.js';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.js';
import { openLocalStorage } from '../../src/storage/local-storage.js';
import { S3Storage, s3ClientConfigFromEnv } from '../../src/storage/s3-storage.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store, StoreEvent } from '../../src/store/types.js';
import { expectRejection } from '../format/fixtures.js';
import { asVersion1, flipBit, rewriteManifest } from '../helpers/tamper.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bytesOf } from '../helpers/tensors.js';
import { PARTITION_KINDS, countingStorage, cutPart, partition, writeShardedCheckpoint, type PartitionKind, type ReadLog } from './sharded-fixture.js';

const CHUNK = 4096;

function globalTensors(seed: number): Record<string, Tensor> {
  let x = seed >>> 0;
  const next = (): number => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0);
  const count = (shape: number[]): number => shape.reduce((n, d) => n * d, 1);
  const f32 = (shape: number[]): Tensor => ({ dtype: 'F32', shape, data: Float32Array.from({ length: count(shape) }, () => next() / 2 ** 32 - 0.5) });
  return {
    'w.f32': f32([7, 5]),
    'h.f16': { dtype: 'F16', shape: [5, 3, 2], data: Uint16Array.from({ length: 30 }, () => next() & 0xffff) },
    'b.bf16': { dtype: 'BF16', shape: [11], data: Uint16Array.from({ length: 11 }, () => next() & 0xffff) },
    'i.i64': { dtype: 'I64', shape: [3, 4], data: BigInt64Array.from({ length: 12 }, () => BigInt(next()) * 2n ** 30n - 2n ** 61n) },
    'mask.bool': { dtype: 'BOOL', shape: [6, 2], data: Uint8Array.from({ length: 12 }, () => next() & 1) },
    'u.u8': { dtype: 'U8', shape: [9, 7], data: Uint8Array.from({ length: 63 }, () => next() & 0xff) },
    scalar: f32([]),
    empty: f32([0, 4]),
    'big.f32': f32([64, 48]),
  };
}

/** Rank `rank` of `worldSize` in a `kind` partition, for every tensor it holds a part of. */
function layoutFor(tensors: Record<string, Tensor>, kind: PartitionKind, worldSize: number, rank: number): RestoreLayout {
  const layout: RestoreLayout = {};
  for (const [name, t] of Object.entries(tensors)) {
    const part = partition(t.shape, kind, worldSize)[rank];
    if (part !== undefined) layout[name] = part;
  }
  return layout;
}

function assertParts(got: Record<string, Tensor>, full: Record<string, Tensor>, layout: RestoreLayout, what: string): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(layout).sort(), `${what}: names`);
  for (const [name, part] of Object.entries(layout)) {
    const t = got[name]!;
    assert.equal(t.dtype, full[name]!.dtype, `${what}: ${name} dtype`);
    assert.deepEqual(t.shape, 'flat' in part ? [part.flat[1] - part.flat[0]] : part.shape, `${what}: ${name} shape`);
    assert.ok(bytesOf(t).equals(cutPart(full[name]!, part)), `${what}: ${name} ${JSON.stringify(part)} bytes differ`);
  }
}

/** The restored global tensors of a single-process save of `tensors`: what every layout is compared with. */
async function singleProcessReference(tensors: Record<string, Tensor>, io: IoRuntime): Promise<Record<string, Tensor>> {
  const fs = new MemoryFileSystem();
  const store = await openStore('/reference', { fs, runtime: io });
  await store.save(1, { tensors });
  const restored = (await store.restore()).tensors;
  await store.close();
  return restored;
}

async function shardedStore(storage: CheckpointStorage, tensors: Record<string, Tensor>, kind: PartitionKind, worldSize: number, io: IoRuntime, step = 1): Promise<Manifest> {
  const slabs = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, partition(t.shape, kind, worldSize)]));
  return writeShardedCheckpoint(storage, { step, tensors, slabs, worldSize, chunkBytes: CHUNK, state: { step, kind } }, io);
}

/** Per file, the maximal byte runs holding `part` of tensor `name`, found element by element from the manifest. */
function neededRuns(manifest: Manifest, name: string, part: TensorPart): Map<string, [number, number][]> {
  const t = manifest.tensors[name]!;
  const size = elementBytes(t.dtype);
  const count = t.shape.reduce((n, d) => n * d, 1);
  const inPart = (index: number[], g: number): boolean =>
    'flat' in part ? g >= part.flat[0] && g < part.flat[1] : index.every((i, d) => i >= part.offset[d]! && i < part.offset[d]! + part.shape[d]!);
  const bytes = new Map<string, number[]>();
  for (let g = 0; g < count; g++) {
    const index = t.shape.map(() => 0);
    for (let d = t.shape.length - 1, rest = g; d >= 0; d--) {
      index[d] = rest % t.shape[d]!;
      rest = Math.floor(rest / t.shape[d]!);
    }
    if (!inPart(index, g)) continue;
    for (const slab of t.slabs) {
      let local: number | undefined;
      if (isFlatSlab(slab)) local = g >= slab.flat[0] && g < slab.flat[1] ? g - slab.flat[0] : undefined;
      else if (index.every((i, d) => i >= slab.offset[d]! && i < slab.offset[d]! + slab.shape[d]!)) {
        local = index.reduce((n, i, d) => n * slab.shape[d]! + (i - slab.offset[d]!), 0);
      }
      if (local === undefined) continue;
      const list = bytes.get(slab.file) ?? [];
      bytes.set(slab.file, list);
      for (let b = 0; b < size; b++) list.push(slab.byteRange[0] + local * size + b);
    }
  }
  const runs = new Map<string, [number, number][]>();
  for (const [file, list] of bytes) {
    const sorted = list.sort((a, b) => a - b);
    const r: [number, number][] = [];
    for (const b of sorted) {
      const last = r[r.length - 1];
      if (last !== undefined && last[1] === b) last[1]++;
      else r.push([b, b + 1]);
    }
    runs.set(file, r);
  }
  return runs;
}

/** Every file read at most 2 chunks more per needed run than it needs, and no chunk read that holds no needed byte. */
function assertAmplification(log: ReadLog, needed: Map<string, [number, number][]>, what: string): void {
  for (const [file, ranges] of log.ranges) {
    const runs = needed.get(file) ?? [];
    const read = ranges.reduce((n, [b, e]) => n + e - b, 0);
    const neededBytes = runs.reduce((n, [b, e]) => n + e - b, 0);
    assert.ok(read <= neededBytes + 2 * CHUNK * runs.length, `${what}: ${file}: read ${read} bytes for ${neededBytes} needed in ${runs.length} runs`);
    for (const [b, e] of ranges) {
      for (let at = b; at < e; at += CHUNK) assert.ok(runs.some(([x, y]) => x < Math.min(at + CHUNK, e) && y > at), `${what}: ${file}: chunk at ${at} read, nothing needed in it`);
    }
  }
}

describe('resharding restore on the local store (memory)', () => {
  const io = new IoRuntime({ hashWorkers: 0 });
  after(() => io.close());
  const tensors = globalTensors(7);
  let full: Record<string, Tensor>;
  before(async () => {
    full = await singleProcessReference(tensors, io);
  });

  const stores = new Map<string, Store>();
  async function storeFor(kind: PartitionKind, n: number): Promise<Store> {
    const key = `${kind}/${n}`;
    if (!stores.has(key)) {
      const fs = new MemoryFileSystem();
      const storage = await openLocalStorage(fs, '/store', { durability: 'atomic_dirsync', create: true });
      await shardedStore(storage, tensors, kind, n, io);
      stores.set(key, await openStore({ storage }, { fs, runtime: io }));
    }
    return stores.get(key)!;
  }

  for (const [n, m] of [[1, 4], [4, 1], [4, 3], [3, 5]] as const) {
    test(`${n} → ${m} ranks, every partition kind saved × every kind restored: the bytes of a single-process save`, async () => {
      for (const saved of PARTITION_KINDS) {
        const store = await storeFor(saved, n);
        for (const wanted of PARTITION_KINDS) {
          for (let rank = 0; rank < m; rank++) {
            const layout = layoutFor(tensors, wanted, m, rank);
            const got = await store.restore({ layout });
            assert.equal(got.step, 1);
            assert.deepEqual(got.state, { step: 1, kind: saved });
            assertParts(got.tensors, full, layout, `${n}×${saved} → ${m}×${wanted} rank ${rank}`);
          }
        }
      }
    });
  }

  test('the whole tensors as the layout: every global tensor, from any saved partition', async () => {
    const whole: RestoreLayout = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { offset: t.shape.map(() => 0), shape: t.shape }]));
    for (const kind of PARTITION_KINDS) assertParts((await (await storeFor(kind, 4)).restore({ layout: whole })).tensors, full, whole, `whole from ${kind}`);
  });

  test('restore() without a layout puts tensors saved in many slabs back together (every kind, 4 ranks)', async () => {
    for (const kind of PARTITION_KINDS) {
      const got = await (await storeFor(kind, 4)).restore();
      for (const [name, t] of Object.entries(full)) {
        assert.deepEqual(got.tensors[name]!.shape, t.shape, `${kind}: ${name} shape`);
        assert.ok(bytesOf(got.tensors[name]!).equals(bytesOf(t)), `${kind}: ${name} bytes`);
      }
    }
  });

  test('into: the caller\'s buffers are filled and handed back; the other parts are allocated', async () => {
    const store = await storeFor('cols', 4);
    const buffer = new Float32Array(7 * 2);
    const layout: RestoreLayout = { 'w.f32': { offset: [0, 3], shape: [7, 2] }, 'u.u8': { flat: [5, 40] } };
    const got = await store.restore({ layout, into: { 'w.f32': buffer } });
    assert.equal(got.tensors['w.f32']!.data, buffer);
    assertParts(got.tensors, full, layout, 'into');
    // a function of the candidate's manifest, checked like the buffers it returns
    let seen: number | undefined;
    const other = new Float32Array(14);
    const viaFunction = await store.restore({ layout, into: (m) => ((seen = m.step), { 'w.f32': other }) });
    assert.equal(seen, 1);
    assert.equal(viaFunction.tensors['w.f32']!.data, other);
    assertParts(viaFunction.tensors, full, layout, 'into()');
    await expectRejection(store.restore({ layout, into: () => ({ nope: other }) }), 'HF_INVALID_ARG', '"nope" has a buffer but no part');
  });

  test('a layout the checkpoint cannot serve is refused before any data is read, every difference listed', async () => {
    const counted = countingStorage(await openLocalStorage(new MemoryFileSystem(), '/store', { durability: 'atomic_dirsync', create: true }));
    await shardedStore(counted.storage, tensors, 'rows', 4, io);
    const store = await openStore({ storage: counted.storage }, { runtime: io });
    const layout: RestoreLayout = {
      missing: { offset: [0], shape: [1] },
      'w.f32': { offset: [0, 0], shape: [8, 5], dtype: 'F16' },
      'u.u8': { flat: [0, 64], globalShape: [9, 8] },
      'i.i64': { offset: [0], shape: [3] },
      'b.bf16': { offset: [0], shape: [11] },
    };
    const e = await expectRejection(store.restore({ layout, into: { 'b.bf16': new Float32Array(11) } }), 'HF_INCOMPATIBLE', '7 differences', '"missing": not in the checkpoint', 'dtype F16 expected, the checkpoint has F32', 'dimension 0: offset 0 + shape 8 exceeds 7', 'global shape [9, 8] expected, the checkpoint has [9, 7]', 'flat range [0, 64) runs past the tensor\'s 63 elements', '"i.i64": a box of 1 dimensions for a tensor of 2', 'into needs a Uint16Array for BF16, got a Float32Array');
    assert.equal((e.data.differences as string[]).length, 7);
    assert.equal(counted.log.bytes(), 0, 'no data byte read');
    await store.close();
  });

  test('a malformed layout is HF_INVALID_ARG before the store is read', async () => {
    const store = await storeFor('rows', 4);
    await expectRejection(store.restore({ layout: { w: { offset: [0], shape: [-1] } } as unknown as RestoreLayout }), 'HF_INVALID_ARG', 'restore layout', '"w".shape[0]');
    await expectRejection(store.restore({ layout: { w: { flat: [3, 1] } } }), 'HF_INVALID_ARG', 'end >= begin');
    await expectRejection(store.restore({ layout: { w: { offset: [0, 0], shape: [1] } } }), 'HF_INVALID_ARG', 'offset has 2 dimensions, shape 1');
    await expectRejection(store.restore({ layout: { w: { flat: [0, 1], extra: 1 } } as unknown as RestoreLayout }), 'HF_INVALID_ARG', 'unknown field "extra"');
    await expectRejection(store.restore({ layout: { w: { flat: [0, 1] } }, into: { v: new Uint8Array(1) } }), 'HF_INVALID_ARG', '"v" has a buffer but no part');
  });

  test('a single-process 1.0 save serves any layout: each file it touches is read and hashed whole, once', async () => {
    const fs = new MemoryFileSystem();
    const counted = countingStorage(await openLocalStorage(fs, '/store', { durability: 'atomic_dirsync', create: true }));
    const store = await openStore({ storage: counted.storage }, { runtime: io, shardSizeBytes: 4096 });
    const saved = await store.save(3, { tensors });
    await downgradeToV1(fs, saved.path);
    const manifest = await store.inspect(3);
    assert.equal(manifest.version, '1.0');
    const layout = layoutFor(tensors, 'cols', 3, 1);
    assertParts((await store.restore({ layout })).tensors, full, layout, '1.0 save, cols 3 rank 1');
    for (const [file, ranges] of counted.log.ranges) {
      const size = manifest.files.find((f) => f.path === file)!.size;
      assert.deepEqual(ranges, [[0, size]], `${file} read whole, once`);
    }
    await store.close();
  });

  after(async () => {
    for (const s of stores.values()) await s.close();
  });
});

/** Rewrites a 2.0 manifest as the 1.0 one an older build would have written (no chunk digests, timing, runtime). */
async function downgradeToV1(fs: MemoryFileSystem, dir: string): Promise<void> {
  const p = `${dir}/${MANIFEST_FILE}`;
  const m = JSON.parse(new TextDecoder().decode(await readWholeFile(fs, p))) as Manifest;
  const bytes = new Map<string, Uint8Array>();
  for (const f of m.files) bytes.set(f.path, await readWholeFile(fs, `${dir}/${f.path}`));
  asVersion1(m, (f) => bytes.get(f)!);
  await replaceFile(fs, p, new TextEncoder().encode(JSON.stringify(m)));
}

/** Damage, rollback and read amplification, on the real disk or S3: `flip(step, file, offset)` flips one stored bit. */
function damageSuite(name: string, setup: (t: TestContext) => Promise<{ storage: CheckpointStorage; flip: (manifest: Manifest, file: string, offset: number) => Promise<void> }>): void {
  describe(name, () => {
    const io = new IoRuntime({ hashWorkers: 0 });
    after(() => io.close());
    // 256 rows of 64 F32 over 4 ranks: 16 KiB of "big" per file, 4 chunks after the header's.
    const tensors = { ...globalTensors(11), big: { dtype: 'F32', shape: [256, 64], data: Float32Array.from({ length: 256 * 64 }, (_, i) => i * 0.5) } as Tensor };
    const bigStart = (m: Manifest, file: string): number => m.tensors.big!.slabs.find((s) => s.file === file)!.byteRange[0];

    test('N → M: parts restored from rows, flat and grid slabs equal the single-process save; reads stay within 2 chunks per run', async (t) => {
      const { storage } = await setup(t);
      const full = await singleProcessReference(tensors, io);
      for (const [step, kind] of [[1, 'rows'], [2, 'flat'], [3, 'grid']] as const) {
        const manifest = await shardedStore(storage, tensors, kind, 4, io, step);
        for (const wanted of ['rows', 'cols'] as const) {
          for (let rank = 0; rank < 3; rank++) {
            const counted = countingStorage(storage);
            const store = await openStore({ storage: counted.storage }, { runtime: io });
            const layout = { big: partition([256, 64], wanted, 3)[rank]! };
            assertParts((await store.restore({ step, layout })).tensors, full, layout, `${kind} → ${wanted} rank ${rank}`);
            assertAmplification(counted.log, neededRuns(manifest, 'big', layout.big), `${kind} → ${wanted} rank ${rank}`);
            await store.close();
          }
        }
      }
    });

    test('a flipped bit in a chunk that is read: a named step is HF_CORRUPT; the newest is quarantined and the previous one restored', async (t) => {
      const { storage, flip } = await setup(t);
      await shardedStore(storage, tensors, 'rows', 4, io, 1);
      const m2 = await shardedStore(storage, tensors, 'rows', 4, io, 2);
      const file = 'r0000-p000.safetensors';
      await flip(m2, file, bigStart(m2, file) + 100);
      const layout: RestoreLayout = { big: { offset: [0, 0], shape: [8, 64] } };
      const events: StoreEvent[] = [];
      const store = await openStore({ storage }, { runtime: io, onEvent: (e) => events.push(e) });
      await expectRejection(store.restore({ step: 2, layout }), 'HF_CORRUPT', 'checkpoint 2 failed verification', file, 'chunk 1', 'SHA-256 mismatch');
      const got = await store.restore({ layout });
      assert.equal(got.step, 1);
      assert.equal(got.skipped.length, 1);
      assert.match(got.skipped[0]!.reason, /chunk 1 .*SHA-256 mismatch/);
      assert.deepEqual(events.map((e) => e.type), ['quarantined', 'rolled-back']);
      assert.deepEqual(await storage.list(), [1]);
      assertParts(got.tensors, await singleProcessReference(tensors, io), layout, 'rolled back');
      await store.close();
    });

    test('a flipped bit in a chunk that is not read is not read (full verify still finds it)', async (t) => {
      const { storage, flip } = await setup(t);
      const m = await shardedStore(storage, tensors, 'rows', 4, io, 1);
      const file = 'r0000-p000.safetensors';
      const damaged = bigStart(m, file) + 3 * CHUNK + 8;
      await flip(m, file, damaged);
      const counted = countingStorage(storage);
      const store = await openStore({ storage: counted.storage }, { runtime: io });
      const layout: RestoreLayout = { big: { offset: [0, 0], shape: [8, 64] } };
      const got = await store.restore({ layout });
      assert.equal(got.step, 1);
      assert.ok(got.skipped.length === 0);
      const read = counted.log.ranges.get(file) ?? [];
      assert.ok(read.length > 0 && read.every(([b, e]) => e <= damaged || b > damaged), `read ${JSON.stringify(read)} avoids byte ${damaged}`);
      const [report] = await store.verify(1);
      assert.equal(report!.ok, false);
      assert.equal(report!.problems[0]!.file, file);
      await store.close();
    });
  });
}

damageSuite('resharding restore on the local store (real disk)', async (t) => {
  const dir = tempDir(t);
  const fs = new PosixFileSystem();
  const storage = await openLocalStorage(fs, `${dir}/store-${newNonce()}`, { durability: 'atomic_dirsync', create: true });
  return { storage, flip: (m, file, offset) => Promise.resolve(flipBit(`${storage.location}/${checkpointDirName(m.step)}/${file}`, offset)) };
});

test('an edited chunk digest: the manifest hash catches it; re-sealed, the chunk check does (local disk)', async (t) => {
  const io = new IoRuntime({ hashWorkers: 0 });
  t.after(() => io.close());
  const storage = await openLocalStorage(new PosixFileSystem(), `${tempDir(t)}/store`, { durability: 'atomic_dirsync', create: true });
  const tensors = globalTensors(5);
  await shardedStore(storage, tensors, 'rows', 2, io, 1);
  await shardedStore(storage, tensors, 'rows', 2, io, 2);
  await shardedStore(storage, tensors, 'rows', 2, io, 3);
  const layout: RestoreLayout = { 'big.f32': { offset: [0, 0], shape: [64, 48] } };
  const edit = (m: Manifest): void => {
    m.files[0]!.chunks!.sha256[1] = m.files[1]!.chunks!.sha256[1]!; // a digest of another file's chunk
  };
  rewriteManifest(`${storage.location}/${checkpointDirName(3)}`, edit, false);
  rewriteManifest(`${storage.location}/${checkpointDirName(2)}`, edit, true);
  const store = await openStore({ storage }, { runtime: io });
  const got = await store.restore({ layout });
  assert.equal(got.step, 1);
  assert.deepEqual(got.skipped.map((k) => k.step), [3, 2]);
  assert.match(got.skipped[0]!.reason, /manifest hash mismatch/);
  assert.match(got.skipped[1]!.reason, /chunk 1 .*SHA-256 mismatch/);
  assertParts(got.tensors, await singleProcessReference(tensors, io), layout, 'after two rollbacks');
  await store.close();
});

if (process.env.AWS_ENDPOINT_URL !== undefined && process.env.AWS_ENDPOINT_URL !== '') {
  const bucket = `holdfast-reshard-${randomBytes(4).toString('hex')}`;
  const opened: S3Storage[] = [];
  before(async () => {
    const admin = new S3Client(s3ClientConfigFromEnv(process.env));
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    admin.destroy();
  });
  after(async () => {
    for (const s of opened) await s.close();
  });
  damageSuite('resharding restore on S3 (real server): ranged GETs, every chunk verified', async () => {
    const prefix = `reshard/${newNonce()}/`;
    const storage = new S3Storage({ bucket, prefix });
    opened.push(storage);
    const flip = async (m: Manifest, file: string, offset: number): Promise<void> => {
      const key = `${prefix}${checkpointDirName(m.step)}/${m.nonce}/${file}`;
      const bytes = (await storage.client.get(key))!.bytes;
      bytes[offset]! ^= 1;
      await storage.client.put(key, bytes);
    };
    return { storage, flip };
  });
} else if (process.env.CI !== undefined && process.env.CI !== '') {
  test('the S3 resharding suite runs in CI', () => assert.fail('AWS_ENDPOINT_URL is not set, so the S3 suite cannot run, and in CI it must'));
}

test('errors name the code on a restore that finds nothing', async () => {
  const store = await openStore('/empty', { fs: new MemoryFileSystem() });
  await assert.rejects(store.restore({ layout: {} }), (e) => isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT'));
  await store.close();
});
