import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findOverlappingSlabs, tilingProblem } from '../../src/format/slab-tiling.js';

const slab = (offset: number[], shape: number[]) => ({ offset, shape });

describe('tilingProblem', () => {
  test('accepts exact tilings: one slab, rows, columns, a grid, a scalar', () => {
    assert.equal(tilingProblem([4, 6], [slab([0, 0], [4, 6])]), undefined);
    assert.equal(tilingProblem([4, 6], [slab([2, 0], [2, 6]), slab([0, 0], [2, 6])]), undefined);
    assert.equal(tilingProblem([4, 6], [slab([0, 0], [4, 3]), slab([0, 3], [4, 3])]), undefined);
    const grid = [0, 2].flatMap((r) => [0, 3].map((c) => slab([r, c], [2, 3])));
    assert.equal(tilingProblem([4, 6], grid), undefined);
    assert.equal(tilingProblem([], [slab([], [])]), undefined);
  });

  test('accepts empty tensors with empty slabs or none', () => {
    assert.equal(tilingProblem([0, 5], []), undefined);
    assert.equal(tilingProblem([0, 5], [slab([0, 0], [0, 5]), slab([0, 0], [0, 5])]), undefined);
  });

  test('refuses overlaps, including two copies of one scalar', () => {
    assert.match(tilingProblem([4, 6], [slab([0, 0], [3, 6]), slab([2, 0], [2, 6])])!, /slabs\[0\] and slabs\[1\] overlap/);
    assert.match(tilingProblem([], [slab([], []), slab([], [])])!, /overlap/);
    // Same rows, overlapping columns: found though dimension 0 intervals are identical.
    assert.deepEqual(findOverlappingSlabs([slab([0, 0], [4, 2]), slab([0, 4], [4, 2]), slab([0, 1], [4, 2])]), [0, 2]);
  });

  test('refuses gaps', () => {
    assert.match(tilingProblem([4, 6], [slab([0, 0], [2, 6])])!, /cover 12 of 24 elements/);
    assert.match(tilingProblem([2], [])!, /cover 0 of 2/);
  });

  test('many slabs, given out of order: an exact tiling passes, one overlapping row among them is found', () => {
    const n = 20_000;
    const rows = Array.from({ length: n }, (_, i) => slab([n - 1 - i, 0], [1, 8]));
    assert.equal(tilingProblem([n, 8], rows), undefined);
    const withOverlap = [...rows.slice(0, n - 1), slab([7, 4], [1, 4])];
    assert.match(tilingProblem([n, 8], withOverlap)!, /overlap/);
  });
});
