/**
 * The corruption catalogue (classes C1–C15, docs/CRASH-MODEL.md): every
 * variant, one file per fault class beside this one.
 *
 * The order is part of the seed: trial t of variant i draws from the stream
 * (seed, i, t) (corrupt-campaign.ts), so reordering changes every fault a
 * seed injects. New variants go at the end; that is why the last few are not
 * grouped with their class.
 */
import { BENIGN } from './benign.js';
import { BIT_FLIPS, SHA256SUMS_BIT_FLIP } from './bit-flips.js';
import { EXTENSION } from './extension.js';
import { HEADER_EDIT_VARIANTS } from './header-edits.js';
import { MANIFEST_EDIT_VARIANTS, MANIFEST_STATE_RESEALED, MANIFEST_STATE_RESEALED_SIGNED } from './manifest-edits.js';
import { LOST_WRITES, MISDIRECTED_WRITES } from './misplaced-writes.js';
import { MISSING } from './missing.js';
import { BURSTS, GARBAGE_SECTORS } from './random-bytes.js';
import { ROLLBACK } from './rollback.js';
import { STALE } from './stale.js';
import { SWAPS } from './swaps.js';
import { TRUNCATION } from './truncation.js';
import { UNRECOVERABLE } from './unrecoverable.js';
import type { FaultVariant } from './variant.js';
import { ZEROING } from './zeroing.js';

export type { Expectation, FaultContext, FaultVariant, InjectedFault } from './variant.js';

export const FAULT_VARIANTS: readonly FaultVariant[] = [
  ...BIT_FLIPS, // C1
  ...BURSTS, // C2
  ...ZEROING, // C3
  ...GARBAGE_SECTORS, // C4
  ...TRUNCATION, // C5
  ...EXTENSION, // C6
  ...MISSING, // C7
  ...STALE, // C8
  ...SWAPS, // C9
  ...MISDIRECTED_WRITES, // C10
  ...LOST_WRITES, // C11
  ...MANIFEST_EDIT_VARIANTS, // C12
  ...HEADER_EDIT_VARIANTS, // C13
  ...ROLLBACK, // C15
  MANIFEST_STATE_RESEALED, // C12, added later
  SHA256SUMS_BIT_FLIP, // C1, added later
  UNRECOVERABLE,
  ...BENIGN,
  MANIFEST_STATE_RESEALED_SIGNED, // C12, added with signing
];

export function findFaultVariant(name: string): FaultVariant | undefined {
  return FAULT_VARIANTS.find((v) => v.name === name);
}
