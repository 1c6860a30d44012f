/**
 * The leader's epoch record (format/epoch-record.ts): created once per job
 * incarnation, exclusively, one above the highest present (a concurrent
 * creator makes us try the next). An incarnation that already recorded its
 * epoch (same attempt nonce) reuses it, so a leader restarted within one
 * attempt does not fence its own commits.
 */
import { hostname } from 'node:os';
import { HoldfastError } from '../errors.js';
import { EPOCH_RECORD_FORMAT, encodeEpochRecord, type EpochRecord } from '../format/epoch-record.js';
import { readEpochRecords } from '../restore/epochs.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import type { Attempt } from './attempt-id.js';

const MAX_TRIES = 64;

export async function recordEpoch(storage: CheckpointStorage, attempt: Attempt, resumedFrom: number | null): Promise<EpochRecord> {
  const backend = storage.epochs;
  if (backend === undefined) throw new HoldfastError('HF_INVALID_ARG', `${storage.location}: this storage keeps no epoch records, so it cannot host multi-rank saves`, { path: storage.location });
  for (let i = 0; i < MAX_TRIES; i++) {
    const existing = await readEpochRecords(storage);
    const ours = existing.find((r) => r.nonce === attempt.nonce);
    if (ours !== undefined) return ours;
    const highest = Math.max(0, ...(await backend.list()));
    const record: EpochRecord = { format: EPOCH_RECORD_FORMAT, epoch: highest + 1, nonce: attempt.nonce, attemptId: attempt.id, resumedFrom, host: hostname(), pid: process.pid, createdAt: new Date().toISOString() };
    if (await backend.createExclusive(record.epoch, encodeEpochRecord(record))) return record;
  }
  throw new HoldfastError('HF_BUSY', `${backend.location}: ${MAX_TRIES} epoch numbers were taken by concurrent leaders; gave up`, { path: backend.location });
}

/** Epochs newer than `epoch` recorded so far: a leader that sees one is a zombie and must not commit. */
export async function newerEpochs(storage: CheckpointStorage, epoch: number): Promise<number[]> {
  return ((await storage.epochs?.list()) ?? []).filter((e) => e > epoch);
}
