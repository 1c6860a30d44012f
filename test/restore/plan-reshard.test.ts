import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { elementBytes, typedArrayFor, type DType, type Tensor } from '../../src/format/dtype.js';
import type { Manifest } from '../../src/format/manifest-types.js';
import { SeededRandom } from '../../src/fs/seeded-random.js';
import { planReshard, type ReshardPlan } from '../../src/restore/plan-reshard.js';
import type { RestoreLayout, TensorPart } from '../../src/restore/tensor-part.js';
import { PARTITION_KINDS, buildShardedCheckpoint, cutPart, partition, type Extent } from './sharded-fixture.js';

const DTYPES: DType[] = ['F32', 'F16', 'BF16', 'I64', 'BOOL', 'U8', 'F64'];

function randomTensor(r: SeededRandom, dtype: DType, shape: number[]): Tensor {
  const count = shape.reduce((n, d) => n * d, 1);
  const bytes = Uint8Array.from({ length: count * elementBytes(dtype) }, () => (dtype === 'BOOL' ? r.nextInt(2) : r.nextInt(256)));
  return { dtype, shape, data: typedArrayFor(dtype, bytes) };
}

function randomPart(r: SeededRandom, shape: number[]): TensorPart {
  const count = shape.reduce((n, d) => n * d, 1);
  if (r.nextInt(3) === 0) {
    const b = r.nextInt(count + 1);
    return { flat: [b, b + r.nextInt(count - b + 1)] };
  }
  const offset = shape.map((g) => r.nextInt(g + 1));
  return { offset, shape: shape.map((g, d) => r.nextInt(g - offset[d]! + 1)) };
}

/** Runs the plan on in-memory files: reads only the planned ranges, then copies. */
function simulate(plan: ReshardPlan, contents: Map<string, Uint8Array>): Uint8Array[] {
  const out = plan.parts.map((p) => new Uint8Array(p.byteLength));
  for (const c of plan.copies) {
    const inRead = plan.reads.some((r) => r.file === c.file && r.begin <= c.src && c.src + c.bytes <= r.end);
    assert.ok(inRead, `copy ${JSON.stringify(c)} reads outside the planned ranges`);
    out[c.part]!.set(contents.get(c.file)!.subarray(c.src, c.src + c.bytes), c.dst);
  }
  return out;
}

/** Maximal contiguous byte ranges of `file` the parts need. */
function neededRuns(plan: ReshardPlan, file: string): [number, number][] {
  const runs: [number, number][] = [];
  for (const c of plan.copies.filter((x) => x.file === file).sort((a, b) => a.src - b.src)) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === c.src) last[1] += c.bytes;
    else runs.push([c.src, c.src + c.bytes]);
  }
  return runs;
}

function assertReadsOnGrid(plan: ReshardPlan, manifest: Manifest, what: string): void {
  for (const f of manifest.files) {
    const reads = plan.reads.filter((r) => r.file === f.path);
    const c = f.chunks!.bytes;
    reads.forEach((r, i) => {
      assert.equal(r.begin % c, 0, `${what}: ${f.path} read starts off the chunk grid`);
      assert.ok(r.end % c === 0 || r.end === f.size, `${what}: ${f.path} read ends off the chunk grid`);
      if (i > 0) assert.ok(reads[i - 1]!.end < r.begin, `${what}: reads of ${f.path} overlap or touch`);
    });
    const needed = neededRuns(plan, f.path);
    const read = reads.reduce((n, r) => n + r.end - r.begin, 0);
    const neededBytes = needed.reduce((n, [b, e]) => n + e - b, 0);
    assert.ok(read <= neededBytes + 2 * c * needed.length, `${what}: ${f.path}: read ${read} bytes for ${neededBytes} needed in ${needed.length} runs (chunk ${c})`);
    // every chunk read holds a needed byte
    for (const r of reads) {
      for (let at = r.begin; at < r.end; at += c) assert.ok(needed.some(([b, e]) => b < Math.min(at + c, f.size) && e > at), `${what}: ${f.path} chunk at ${at} is read but not needed`);
    }
  }
}

describe('resharding planner', () => {
  test('seeded: any saved partition × any requested box or flat range gives the bytes cut element by element, reading only needed chunks', () => {
    for (let seed = 0; seed < 400; seed++) {
      const r = new SeededRandom(seed);
      const worldSize = 1 + r.nextInt(5);
      const tensors: Record<string, Tensor> = {};
      const slabs: Record<string, Extent[]> = {};
      const layout: RestoreLayout = {};
      for (let t = 0; t < 1 + r.nextInt(3); t++) {
        const shape = Array.from({ length: r.nextInt(4) }, () => r.nextInt(40));
        const name = `t${t}`;
        tensors[name] = randomTensor(r, DTYPES[r.nextInt(DTYPES.length)]!, shape);
        slabs[name] = partition(shape, PARTITION_KINDS[r.nextInt(PARTITION_KINDS.length)]!, worldSize);
        if (r.nextInt(4) > 0) layout[name] = randomPart(r, shape);
      }
      const { manifest, contents } = buildShardedCheckpoint({ step: 1, tensors, slabs, worldSize, chunkBytes: 4096 });
      const plan = planReshard(manifest, layout);
      const got = simulate(plan, contents);
      plan.parts.forEach((p, i) => {
        assert.ok(Buffer.from(got[i]!).equals(cutPart(tensors[p.name]!, layout[p.name]!)), `seed ${seed}: ${p.name} ${JSON.stringify(layout[p.name])}`);
      });
      assertReadsOnGrid(plan, manifest, `seed ${seed}`);
    }
  });

  test('a row shard of a row-saved tensor is one run per file, and files without its rows are not read', () => {
    const t = randomTensor(new SeededRandom(1), 'F32', [40, 100]);
    const { manifest } = buildShardedCheckpoint({ step: 1, tensors: { w: t }, slabs: { w: partition([40, 100], 'rows', 4) }, worldSize: 4, chunkBytes: 4096 });
    const plan = planReshard(manifest, { w: { offset: [0, 0], shape: [12, 100] } });
    assert.deepEqual(plan.copies.map((c) => [c.file, c.bytes]), [
      ['r0000-p000.safetensors', 10 * 400],
      ['r0001-p000.safetensors', 2 * 400],
    ]);
    assert.deepEqual([...new Set(plan.reads.map((x) => x.file))], ['r0000-p000.safetensors', 'r0001-p000.safetensors']);
  });

  test('flat pieces that continue each other merge into one copy', () => {
    const t = randomTensor(new SeededRandom(2), 'U8', [5, 7, 3]);
    const { manifest } = buildShardedCheckpoint({ step: 1, tensors: { w: t }, slabs: { w: partition([5, 7, 3], 'flat', 1) }, worldSize: 1, chunkBytes: 4096 });
    const plan = planReshard(manifest, { w: { flat: [4, 97] } });
    assert.deepEqual(plan.copies.map((c) => [c.dst, c.bytes]), [[0, 93]]);
  });

  test('a 1.0 file has no chunk grid: the whole file is the read', () => {
    const t = randomTensor(new SeededRandom(3), 'F32', [64, 64]);
    const { manifest } = buildShardedCheckpoint({ step: 1, tensors: { w: t }, slabs: { w: partition([64, 64], 'rows', 1) }, worldSize: 1, chunkBytes: 4096 });
    const v1 = { ...manifest, files: manifest.files.map(({ chunks: _chunks, ...f }) => f) };
    const plan = planReshard(v1, { w: { offset: [10, 0], shape: [1, 64] } });
    assert.deepEqual(plan.reads, [{ file: 'r0000-p000.safetensors', begin: 0, end: v1.files[0]!.size }]);
  });

  test('reads closer than gapBytes are merged; by default only touching ones', () => {
    const t = randomTensor(new SeededRandom(4), 'U8', [8, 8192]);
    const { manifest } = buildShardedCheckpoint({ step: 1, tensors: { w: t }, slabs: { w: partition([8, 8192], 'rows', 1) }, worldSize: 1, chunkBytes: 4096 });
    const column = { w: { offset: [0, 0], shape: [8, 10] } };
    assert.equal(planReshard(manifest, column).reads.length, 8);
    assert.equal(planReshard(manifest, column, { gapBytes: 8192 }).reads.length, 1);
  });
});
