/**
 * The documents ranks leave in an attempt's `records/`: each rank's record
 * (`rank-<r:04>`), written last, after its files are durable, listing them
 * with sizes, hashes and chunk digests (and how each is sealed, under which
 * key, when the store encrypts), its slabs, its rank state and the ids of
 * its signing keys; or an
 * error record saying why it failed. And the leader's abort marker (`ABORT`).
 * The leader checks every field against the others (leader-check.ts), so
 * parsing here only refuses what is not such a record at all.
 */
import type { ChunkDigests, FileEncryption, JsonValue, ManifestEncryption, ManifestTensor } from '../format/manifest-types.js';
import type { RankSigning } from './sign-rank-manifest.js';

export const RANK_RECORD_FORMAT = 'holdfast-rank-record';
export const ABORT_RECORD = 'ABORT';

export interface RankRecordFile {
  path: string;
  size: number;
  /** `sha256:<hex>` */
  hash: string;
  chunks: ChunkDigests;
  /** How the file was sealed, when the rank's store has a key; `size`, `hash` and `chunks` are of the stored bytes. */
  encrypted?: FileEncryption;
}

export interface RankRecord {
  format: typeof RANK_RECORD_FORMAT;
  step: number;
  nonce: string;
  attemptId: string;
  rank: number;
  worldSize: number;
  files: RankRecordFile[];
  /** This rank's slabs, keyed by global tensor (dtype and global shape as this rank sees them). */
  tensors: Record<string, ManifestTensor>;
  rankState: JsonValue;
  /** The rank's encryption at rest (its key id), absent when it writes plain files; the leader requires its own. */
  encryption?: ManifestEncryption;
  /** The ids of the rank's signing and verify keys, absent when it has none; the leader requires its own to be accepted. */
  signing?: RankSigning;
  host: string;
  pid: number;
  /** Present on an error record: why this rank could not write its part. */
  error?: string;
}

export interface AbortRecord {
  format: 'holdfast-abort';
  step: number;
  nonce: string;
  reason: string;
}

export function rankRecordName(rank: number): string {
  return `rank-${String(rank).padStart(4, '0')}`;
}

export function encodeRecord(r: RankRecord | AbortRecord): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(r)}\n`);
}

/** The record, or a reason it is not one. */
export function parseRankRecord(bytes: Uint8Array): RankRecord | string {
  let doc: Partial<RankRecord>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RankRecord>;
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  if (doc === null || typeof doc !== 'object' || doc.format !== RANK_RECORD_FORMAT) return `not a rank record (format ${JSON.stringify((doc as { format?: unknown } | null)?.format)})`;
  for (const key of ['step', 'rank', 'worldSize'] as const) if (!Number.isSafeInteger(doc[key])) return `${key} is not an integer`;
  if (!Array.isArray(doc.files) || doc.tensors === null || typeof doc.tensors !== 'object') return 'files or tensors missing';
  return doc as RankRecord;
}

export function parseAbortRecord(bytes: Uint8Array): AbortRecord | undefined {
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as AbortRecord;
    return doc?.format === 'holdfast-abort' ? doc : undefined;
  } catch {
    return undefined;
  }
}
