/**
 * One rank's part of a multi-rank save: its files into the attempt's staging
 * area, each complete and durable, then its record, last. A failure leaves an
 * error record instead (best effort), so the leader aborts at once rather than
 * at its deadline.
 */
import { hostname } from 'node:os';
import { HoldfastError } from '../errors.js';
import { META_NONCE, META_RANK, META_STEP, type JsonValue, type ManifestTensor } from '../format/manifest-types.js';
import { encodeShardHeader } from '../format/safetensors.js';
import { defineEntry } from '../format/define-entry.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { AttemptArea } from '../storage/checkpoint-storage.js';
import type { PlannedRankFile } from './rank-input.js';
import { rankEncryption, rankFileSeal, type FileSealer } from './seal-rank-file.js';
import { sealedAsAsked } from '../commit/encrypt-file.js';
import type { RankSigning } from './sign-rank-manifest.js';
import { encodeRecord, rankRecordName, RANK_RECORD_FORMAT, type RankRecord, type RankRecordFile } from './rank-record.js';

export interface RankIdentity {
  rank: number;
  worldSize: number;
  attemptId: string;
  /** Seals every file with the store's key (encryption at rest); none: plain files. */
  sealer?: FileSealer | undefined;
  /** The ids of the rank's signing keys, for the leader's check (sign-rank-manifest.ts). */
  signing?: RankSigning | undefined;
}

/** Where a rank is in the protocol; `onPhase` is called as each is reached (progress, and the kill campaign's trigger). */
export type RankPhase = 'joined' | 'files-durable' | 'record-written' | 'records-complete' | 'manifest-ready' | 'committed' | 'aborted';
export type PhaseHook = (phase: RankPhase) => void | Promise<void>;

export async function writeRankPart(
  area: AttemptArea,
  who: RankIdentity,
  files: PlannedRankFile[],
  rankState: JsonValue,
  io: IoRuntime,
  onPhase: PhaseHook | undefined,
): Promise<RankRecord> {
  const encryption = rankEncryption(who.sealer);
  const base = { format: RANK_RECORD_FORMAT, step: area.step, nonce: area.nonce, attemptId: who.attemptId, rank: who.rank, worldSize: who.worldSize, ...(encryption === undefined ? {} : { encryption }), ...(who.signing === undefined ? {} : { signing: who.signing }), host: hostname(), pid: process.pid } as const;
  let record: RankRecord;
  try {
    const written: RankRecordFile[] = [];
    const tensors: Record<string, ManifestTensor> = {};
    for (const file of files) written.push(await writeOneFile(area, who, file, io, tensors));
    await onPhase?.('files-durable');
    record = { ...base, files: written, tensors, rankState: rankState ?? null };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    await area.putRecord(rankRecordName(who.rank), encodeRecord({ ...base, files: [], tensors: {}, rankState: null, error })).catch(() => undefined);
    throw e;
  }
  if (!(await area.putRecord(rankRecordName(who.rank), encodeRecord(record)))) {
    throw new HoldfastError('HF_ABORTED', `rank ${who.rank}: ${area.location} already holds a record for this rank (another process claims rank ${who.rank}, or this incarnation already attempted step ${area.step})`, {
      path: area.location,
      data: { step: area.step, rank: who.rank },
    });
  }
  await onPhase?.('record-written');
  return record;
}

async function writeOneFile(area: AttemptArea, who: RankIdentity, file: PlannedRankFile, io: IoRuntime, tensors: Record<string, ManifestTensor>): Promise<RankRecordFile> {
  const entries = file.slabs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.storedShape, byteLength: s.bytes.byteLength }));
  const header = encodeShardHeader(entries, { [META_STEP]: String(area.step), [META_RANK]: String(who.rank), [META_NONCE]: area.nonce });
  // Slab byte ranges stay offsets into the plaintext; size, hash and chunks are of the stored bytes.
  const parts = [header.bytes, ...file.slabs.map((s) => s.bytes)];
  const seal = rankFileSeal(who.sealer, file.fileName, parts);
  const written = sealedAsAsked(await area.writeFile(file.fileName, parts, { runtime: io, seal: seal?.spec }), seal, area);
  file.slabs.forEach((s, i) => {
    const byteRange = header.ranges[i]!;
    const slab = 'flat' in s.extent ? { file: file.fileName, byteRange, flat: s.extent.flat } : { file: file.fileName, byteRange, offset: s.extent.offset, shape: s.extent.shape };
    if (Object.hasOwn(tensors, s.name)) tensors[s.name]!.slabs.push(slab);
    else defineEntry(tensors, s.name, { dtype: s.dtype, shape: s.globalShape, slabs: [slab] });
  });
  const listed = { path: file.fileName, size: written.sizeBytes, hash: written.hash, chunks: written.chunks };
  return seal === undefined ? listed : { ...listed, encrypted: seal.encrypted };
}
