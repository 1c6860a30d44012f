/**
 * How the rank rows cut one global state (a benchmark workload) among ranks:
 * every tensor as a flat element range, rank r of W holding
 * [⌊r·n/W⌋, ⌊(r+1)·n/W⌋), so any world size tiles every tensor and a
 * checkpoint saved by W ranks can be restored by W' others.
 */
import { byteLengthOf, elementCount, type DType } from '../format/dtype.js';
import { makeWorkload, parseWorkloadName, type Workload } from './workloads.js';

export interface RankSlice {
  name: string;
  dtype: DType;
  globalShape: number[];
  flat: [number, number];
  bytes: number;
}

export function flatRange(elements: number, rank: number, worldSize: number): [number, number] {
  return [Math.floor((rank * elements) / worldSize), Math.floor(((rank + 1) * elements) / worldSize)];
}

export function rankSlices(w: Workload, rank: number, worldSize: number): RankSlice[] {
  return w.tensors.map((t) => {
    const flat = flatRange(elementCount(t.shape), rank, worldSize);
    return { name: t.name, dtype: t.dtype, globalShape: t.shape, flat, bytes: byteLengthOf(t.dtype, [flat[1] - flat[0]]) };
  });
}

/** The workload the rank children rebuild from their arguments. */
export function rankWorkload(name: string, maxBytes: number | undefined): Workload {
  return makeWorkload(parseWorkloadName(name), maxBytes);
}
