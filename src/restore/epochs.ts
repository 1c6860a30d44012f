/** The store's epoch records, read for the lineage rule (format/epoch-record.ts); none on a backend without epochs. */
import { parseEpochRecord, type EpochRecord } from '../format/epoch-record.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';

export async function readEpochRecords(storage: CheckpointStorage): Promise<EpochRecord[]> {
  const backend = storage.epochs;
  if (backend === undefined) return [];
  const records: EpochRecord[] = [];
  for (const epoch of await backend.list()) {
    const bytes = await backend.read(epoch);
    const record = bytes === undefined ? undefined : parseEpochRecord(bytes);
    // A record is created whole; one that does not parse (foreign bytes) fences nothing rather than everything.
    if (record !== undefined && record.epoch === epoch) records.push(record);
  }
  return records;
}
