/**
 * A tiered store's checkpoints and where each one is (`TierState`), derived
 * from the two stores alone, so it is the same in every process and after
 * any crash: `durable` iff the durable store has the step committed with
 * the local manifest's nonce and hash; `uploading` when an upload of that
 * attempt left objects or a multipart upload in the durable store (or runs
 * in this process); otherwise `local`.
 */
import type { Manifest } from '../format/manifest-types.js';
import { loadManifest } from '../restore/verify-checkpoint.js';
import type { ResumableAttempts } from '../storage/attempt-resume.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { ObjectStorage } from '../storage/object-storage.js';
import { destinationHolds } from './copy-checkpoint.js';
import type { CheckpointInfo, TierState } from './types.js';

export async function listTiers(local: CheckpointStorage, durable: CheckpointStorage, uploadingHere: ReadonlySet<number>): Promise<CheckpointInfo[]> {
  const partial = durable instanceof ObjectStorage ? (await import('../storage/attempt-resume.js')).resumableAttempts(durable) : undefined;
  const localSteps = new Set(await local.list());
  const infos: CheckpointInfo[] = [];
  for (const step of [...new Set([...localSteps, ...(await durable.list())])].sort((a, b) => a - b)) {
    const localReader = localSteps.has(step) ? await local.open(step) : undefined;
    const reader = localReader ?? (await durable.open(step));
    if (reader === undefined) continue; // removed since the listing
    const loaded = await loadManifest(reader);
    const m = 'reason' in loaded ? undefined : loaded;
    let tier: TierState = 'durable-only';
    if (localReader !== undefined) tier = m === undefined ? 'local' : await tierOf(m, durable, uploadingHere, partial);
    infos.push({ step, path: reader.location, bytes: m ? m.files.reduce((s, f) => s + f.size, 0) : 0, files: m ? m.files.length : 0, createdAt: m ? m.createdAt : '', tags: [], tier });
  }
  return infos;
}

/** The state of a checkpoint the local tier holds (with a readable manifest). */
async function tierOf(manifest: Manifest, durable: CheckpointStorage, uploadingHere: ReadonlySet<number>, partial: ResumableAttempts | undefined): Promise<TierState> {
  const held = await destinationHolds(durable, manifest.step, manifest);
  if (held === 'present') return 'durable';
  if (held === 'conflict') return 'conflict';
  if (uploadingHere.has(manifest.step)) return 'uploading';
  return (await partial?.hasPartial(manifest.step, manifest.nonce)) === true ? 'uploading' : 'local';
}
