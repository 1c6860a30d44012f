import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededRandom } from '../../src/fs/seeded-random.js';
import { elementRuns } from '../../src/restore/plan-reshard.js';
import { flatRangePieces, flatRangeToBoxes, intersectBoxes, linearIndex, overlappingPairs, volume, type Box } from '../../src/restore/box-geometry.js';

/** Row-major global indices of every element of `box`, in the box's own row-major order. */
function elementsOf(global: number[], box: Box): number[] {
  const out: number[] = [];
  const n = volume(box.shape);
  for (let e = 0; e < n; e++) {
    let rest = e;
    const index = new Array<number>(box.shape.length);
    for (let d = box.shape.length - 1; d >= 0; d--) {
      index[d] = box.offset[d]! + (rest % box.shape[d]!);
      rest = Math.floor(rest / box.shape[d]!);
    }
    out.push(linearIndex(global, index));
  }
  return out;
}

const SHAPES = [[], [5], [3, 4], [2, 3, 4], [2, 0, 3], [1, 1, 5], [4, 1, 3], [3, 2, 2, 3]];

describe('flat ranges as boxes', () => {
  test('every range of every shape: boxes in order, each contiguous, together exactly the range, at most 2·rank − 1', () => {
    for (const shape of SHAPES) {
      const count = volume(shape);
      for (let b = 0; b <= count; b++) {
        for (let e = b; e <= count; e++) {
          const boxes = flatRangeToBoxes(shape, b, e);
          const covered = boxes.flatMap((box) => elementsOf(shape, box));
          assert.deepEqual(covered, Array.from({ length: e - b }, (_, i) => b + i), `[${shape}] [${b}, ${e})`);
          assert.ok(boxes.length <= Math.max(1, 2 * shape.length - 1), `[${shape}] [${b}, ${e}): ${boxes.length} boxes`);
          assert.ok(boxes.every((box) => volume(box.shape) > 0), 'no empty box');
          // placed pieces start where their first element sits in the range
          flatRangePieces(shape, b, e).forEach((p, i) => assert.equal(p.start, covered.indexOf(elementsOf(shape, boxes[i]!)[0]!)));
        }
      }
    }
  });
});

function randomBox(r: SeededRandom, global: number[]): Box {
  const offset: number[] = [];
  const shape: number[] = [];
  for (const g of global) {
    const o = r.nextInt(g + 1);
    offset.push(o);
    shape.push(r.nextInt(g - o + 1));
  }
  return { offset, shape };
}

describe('overlapping boxes by a dimension-0 sweep', () => {
  test('finds exactly the pairs a brute-force check finds (seeded, ranks 0 to 3, empty boxes included)', () => {
    for (let seed = 0; seed < 300; seed++) {
      const r = new SeededRandom(seed);
      const global = Array.from({ length: r.nextInt(4) }, () => 1 + r.nextInt(6));
      const a = Array.from({ length: r.nextInt(7) }, () => randomBox(r, global));
      const b = Array.from({ length: r.nextInt(7) }, () => randomBox(r, global));
      const brute: string[] = [];
      a.forEach((x, i) => b.forEach((y, j) => {
        if (volume(x.shape) > 0 && volume(y.shape) > 0 && intersectBoxes(x, y) !== undefined) brute.push(`${i},${j}`);
      }));
      assert.deepEqual(overlappingPairs(a, b).map(([i, j]) => `${i},${j}`).sort(), brute.sort(), `seed ${seed}`);
    }
  });
});

describe('byte runs of an intersection', () => {
  test('row shards: one run; column shards: one run per row; a 0-d tensor: one element', () => {
    const rows = elementRuns({ box: { offset: [0, 0], shape: [4, 6] }, start: 0 }, { box: { offset: [2, 0], shape: [4, 6] }, start: 0 });
    assert.deepEqual(rows, [{ src: 12, dst: 0, elements: 12 }]);
    const cols = elementRuns({ box: { offset: [0, 0], shape: [3, 6] }, start: 0 }, { box: { offset: [0, 2], shape: [3, 2] }, start: 5 });
    assert.deepEqual(cols, [
      { src: 2, dst: 5, elements: 2 },
      { src: 8, dst: 7, elements: 2 },
      { src: 14, dst: 9, elements: 2 },
    ]);
    assert.deepEqual(elementRuns({ box: { offset: [], shape: [] }, start: 3 }, { box: { offset: [], shape: [] }, start: 0 }), [{ src: 3, dst: 0, elements: 1 }]);
  });

  test('the largest run: trailing dimensions whole on both sides make one run of them', () => {
    // [2,3,4] slab, target rows 1..2 of dim 1, all of dim 2: runs of 2·4 elements, one per dim-0 index
    const runs = elementRuns({ box: { offset: [0, 0, 0], shape: [2, 3, 4] }, start: 0 }, { box: { offset: [0, 1, 0], shape: [2, 2, 4] }, start: 0 });
    assert.deepEqual(runs, [
      { src: 4, dst: 0, elements: 8 },
      { src: 16, dst: 8, elements: 8 },
    ]);
  });
});
