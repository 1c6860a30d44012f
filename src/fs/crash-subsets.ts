/**
 * Which subsets of a crash point's pending units to try (rules R7, R11,
 * docs/CRASH-MODEL.md), each named
 * by a subset index so that (seed, crash point, subset index) replays it.
 *
 * Layout of the indices for n pending units:
 * - n ≤ maxExhaustiveUnits: every subset, index = bit mask of *lost* units
 *   (0 = all kept, the process-kill state; 2^n − 1 = none kept).
 * - otherwise: 0 all kept, 1 none kept, then each unit alone lost (n), each
 *   unit alone kept (n), all units of one op lost (ALICE's op omission, for
 *   each op with several units), then `randomSubsetCount` seeded random
 *   subsets. A random subset first draws a keep probability p, then keeps
 *   each unit with probability p, so nearly-all and nearly-none mixes occur.
 * - with `tornSectors`, the random subsets tear kept data units on sector
 *   edges (R3) with probability 1/4 each; in exhaustive mode
 *   `randomSubsetCount` such torn subsets follow the 2^n plain ones (only if
 *   some unit can tear).
 */
import type { Unit } from './crash-history.js';
import { KEPT, LOST, tearChoice, tearEdges } from './crash-state.js';
import { SeededRandom } from './seeded-random.js';

export interface SubsetOptions {
  seed: number;
  maxExhaustiveUnits: number;
  randomSubsetCount: number;
  tornSectors: boolean;
  sectorBytes: number;
}

export interface SubsetSpace {
  unitCount: number;
  exhaustive: boolean;
  /** Sampled mode: ops whose units are dropped together, one subset each. */
  omittedOps: readonly number[];
  /** Index of the first random subset. */
  randomFrom: number;
  count: number;
}

const TEAR_PROBABILITY = 0.25;

export function subsetSpace(units: readonly Unit[], o: SubsetOptions): SubsetSpace {
  const n = units.length;
  if (n <= o.maxExhaustiveUnits) {
    const tearable = o.tornSectors && units.some((u) => u.kind === 'data' && tearEdges(u, o.sectorBytes).length > 0);
    const count = 2 ** n + (tearable ? o.randomSubsetCount : 0);
    return { unitCount: n, exhaustive: true, omittedOps: [], randomFrom: 2 ** n, count };
  }
  const unitsPerOp = new Map<number, number>();
  for (const u of units) unitsPerOp.set(u.opIndex, (unitsPerOp.get(u.opIndex) ?? 0) + 1);
  const omittedOps = [...unitsPerOp].filter(([, count]) => count > 1).map(([op]) => op);
  const randomFrom = 2 + 2 * n + omittedOps.length;
  return { unitCount: n, exhaustive: false, omittedOps, randomFrom, count: randomFrom + o.randomSubsetCount };
}

function randomChoices(units: readonly Unit[], rng: SeededRandom, o: SubsetOptions): Uint8Array {
  const choices = new Uint8Array(units.length);
  const keepProbability = rng.nextFloat();
  units.forEach((u, j) => {
    if (!rng.nextBool(keepProbability)) return;
    choices[j] = KEPT;
    if (!o.tornSectors || u.kind !== 'data') return;
    const edges = tearEdges(u, o.sectorBytes);
    if (edges.length > 0 && rng.nextBool(TEAR_PROBABILITY)) choices[j] = tearChoice(rng.nextInt(edges.length), rng.nextBool());
  });
  return choices;
}

/** The choice per unit (LOST, KEPT or a tear) of subset `index`. */
export function subsetChoices(units: readonly Unit[], space: SubsetSpace, crashPoint: number, index: number, o: SubsetOptions): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= space.count) {
    throw new RangeError(`subset index ${index} out of range [0, ${space.count}) at crash point ${crashPoint}`);
  }
  const n = units.length;
  if (index >= space.randomFrom) return randomChoices(units, new SeededRandom(o.seed, crashPoint, index), o);
  if (space.exhaustive) {
    const choices = new Uint8Array(n);
    for (let j = 0; j < n; j++) choices[j] = Math.floor(index / 2 ** j) % 2 === 1 ? LOST : KEPT;
    return choices;
  }
  if (index === 0) return new Uint8Array(n).fill(KEPT);
  if (index === 1) return new Uint8Array(n).fill(LOST);
  if (index < 2 + n) {
    const choices = new Uint8Array(n).fill(KEPT);
    choices[index - 2] = LOST;
    return choices;
  }
  if (index < 2 + 2 * n) {
    const choices = new Uint8Array(n).fill(LOST);
    choices[index - 2 - n] = KEPT;
    return choices;
  }
  const op = space.omittedOps[index - 2 - 2 * n]!;
  return Uint8Array.from(units, (u) => (u.opIndex === op ? LOST : KEPT));
}

/** How subset `index` was chosen, for state descriptions. */
export function subsetLabel(space: SubsetSpace, index: number): string {
  const n = space.unitCount;
  if (index >= space.randomFrom) return `random subset ${index - space.randomFrom} of ${space.count - space.randomFrom}`;
  if (space.exhaustive) return `exhaustive subset ${index} of 2^${n}`;
  if (index === 0) return 'all kept';
  if (index === 1) return 'none kept';
  if (index < 2 + n) return `unit ${index - 2} alone lost`;
  if (index < 2 + 2 * n) return `unit ${index - 2 - n} alone kept`;
  return `op #${space.omittedOps[index - 2 - 2 * n]} omitted`;
}
