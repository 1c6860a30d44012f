/**
 * How a rank learns the outcome of the leader's commit: from the storage
 * alone. It polls the step: a committed manifest of our attempt that lists
 * our files with our hashes resolves; a manifest of another attempt rejects
 * with HF_STEP_EXISTS; the leader's abort marker, or the deadline, rejects
 * with HF_ABORTED. Nothing waits on another process directly.
 */
import { HoldfastError } from '../errors.js';
import type { Manifest } from '../format/manifest-types.js';
import { loadManifest } from '../restore/verify-checkpoint.js';
import type { AttemptArea, CheckpointStorage } from '../storage/checkpoint-storage.js';
import { pollUntil } from './poll.js';
import { ABORT_RECORD, parseAbortRecord, type RankRecord } from './rank-record.js';

type Outcome = { manifest: Manifest; location: string } | { error: HoldfastError };

export async function awaitCommit(storage: CheckpointStorage, area: AttemptArea, own: RankRecord, deadlineMs: number): Promise<{ manifest: Manifest; location: string }> {
  const { step, nonce } = area;
  const outcome = await pollUntil(async (): Promise<Outcome | undefined> => {
    const reader = await storage.open(step);
    if (reader !== undefined) {
      const loaded = await loadManifest(reader);
      // A manifest that does not load is not a commit anyone may report; readers will quarantine it.
      if ('reason' in loaded) return undefined;
      if (loaded.nonce !== nonce) return { error: new HoldfastError('HF_STEP_EXISTS', `step ${step} was committed by another attempt (${loaded.nonce}) at ${reader.location}`, { path: reader.location, data: { step } }) };
      return ownFilesProblem(loaded, own, reader.location) ?? { manifest: loaded, location: reader.location };
    }
    const marker = await area.readRecord(ABORT_RECORD);
    if (marker === undefined) return undefined;
    const reason = parseAbortRecord(marker)?.reason ?? 'an unreadable abort marker';
    return { error: new HoldfastError('HF_ABORTED', `multi-rank save of step ${step} was aborted by the leader: ${reason}`, { path: area.location, data: { step } }) };
  }, deadlineMs);
  if (outcome === undefined) {
    throw new HoldfastError('HF_ABORTED', `multi-rank save of step ${step}: neither a commit nor an abort within ${deadlineMs} ms (leader dead?); nothing was committed by this attempt as far as this rank saw`, { path: area.location, data: { step } });
  }
  if ('error' in outcome) throw outcome.error;
  return outcome;
}

function ownFilesProblem(m: Manifest, own: RankRecord, location: string): Outcome | undefined {
  for (const f of own.files) {
    const listed = m.files.find((x) => x.path === f.path);
    if (listed === undefined || listed.hash !== f.hash || listed.size !== f.size) {
      return { error: new HoldfastError('HF_CORRUPT', `${location}: the committed manifest of our attempt does not list rank ${own.rank}'s ${f.path} as written (${f.size} bytes, ${f.hash})`, { path: location, data: { step: m.step } }) };
    }
  }
  return undefined;
}
