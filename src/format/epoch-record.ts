/**
 * The epoch record of one job incarnation (scale-out note §7.1) and the
 * lineage rule every reader applies. When a multi-rank job (re)starts, its
 * leader creates `epochs/<E>` exclusively, E one above the highest present,
 * naming the step it resumed from. A manifest written under epoch `e` at
 * step `s` is then valid only if every newer epoch `f` resumed from a step
 * `>= s`: a zombie leader of an older incarnation that commits past the new
 * incarnation's resume point is ignored by every reader, forever, because the
 * rule looks only at what is stored (no race between check and use).
 * A manifest without an epoch (a single-process save, fenced by the writer
 * lease instead) is outside the rule.
 */
import type { Manifest } from './manifest-types.js';

export const EPOCH_RECORD_FORMAT = 'holdfast-epoch';

export interface EpochRecord {
  format: typeof EPOCH_RECORD_FORMAT;
  epoch: number;
  /** The incarnation's attempt nonce and the launcher id it was derived from. */
  nonce: string;
  attemptId: string;
  /** The step the incarnation restored before training on; null when it started fresh. */
  resumedFrom: number | null;
  host: string;
  pid: number;
  createdAt: string;
}

export function encodeEpochRecord(r: EpochRecord): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(r, null, 2)}\n`);
}

/** The record, or undefined when the bytes are not one (records appear whole, so only foreign bytes fail). */
export function parseEpochRecord(bytes: Uint8Array): EpochRecord | undefined {
  try {
    const r = JSON.parse(new TextDecoder().decode(bytes)) as Partial<EpochRecord>;
    const okStep = r.resumedFrom === null || (Number.isSafeInteger(r.resumedFrom) && (r.resumedFrom as number) >= 0);
    if (r.format !== EPOCH_RECORD_FORMAT || !Number.isSafeInteger(r.epoch) || !okStep) return undefined;
    return r as EpochRecord;
  } catch {
    return undefined;
  }
}

/** The newer epoch that fences this manifest out, or undefined when the lineage rule lets it stand. */
export function fencingEpoch(m: Pick<Manifest, 'step' | 'epoch'>, epochs: readonly EpochRecord[]): EpochRecord | undefined {
  const e = m.epoch;
  if (e === undefined) return undefined;
  return epochs.find((f) => f.epoch > e && (f.resumedFrom === null || m.step > f.resumedFrom));
}

export function describeFencing(m: Pick<Manifest, 'step' | 'epoch'>, f: EpochRecord): string {
  const from = f.resumedFrom === null ? 'started fresh' : `resumed from step ${f.resumedFrom}`;
  return `written by epoch ${String(m.epoch)}, fenced by epoch ${f.epoch} which ${from} (a leader of an older job incarnation committed past the newer one's resume point)`;
}
