/**
 * The leader's wait for the ranks' records: poll the attempt's `records/`
 * until all N are there, or one is an error record (no point waiting for the
 * rest), or the deadline passes. Records appear whole, so each is read once.
 */
import type { AttemptArea } from '../storage/checkpoint-storage.js';
import { pollUntil } from './poll.js';
import { parseRankRecord, rankRecordName, type RankRecord } from './rank-record.js';

export interface Collected {
  /** By rank; undefined where none arrived. */
  records: (RankRecord | undefined)[];
  /** Why a record that arrived is not one. */
  unreadable: string[];
}

export async function collectRecords(area: AttemptArea, worldSize: number, deadlineMs: number): Promise<Collected> {
  const records: (RankRecord | undefined)[] = new Array<RankRecord | undefined>(worldSize).fill(undefined);
  const unreadable: string[] = [];
  const names = records.map((_, rank) => rankRecordName(rank));
  await pollUntil(async () => {
    const present = new Set(await area.listRecords());
    for (const [rank, name] of names.entries()) {
      if (records[rank] !== undefined || !present.has(name)) continue;
      const bytes = await area.readRecord(name);
      if (bytes === undefined) continue;
      const parsed = parseRankRecord(bytes);
      if (typeof parsed === 'string') {
        unreadable.push(`${area.location} ${name}: ${parsed}`);
        return true;
      }
      records[rank] = parsed;
      if (parsed.error !== undefined) return true;
    }
    return records.every((r) => r !== undefined) ? true : undefined;
  }, deadlineMs);
  return { records, unreadable };
}
