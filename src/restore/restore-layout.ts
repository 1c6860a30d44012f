/**
 * A resharding restore: the caller's parts of the newest checkpoint that
 * serves them with every read byte verified (or of one named step). Each
 * candidate's manifest is checked against the layout before any data byte
 * is read: a checkpoint that cannot serve it is refused (HF_INCOMPATIBLE,
 * every difference listed), since that is the caller's layout, not damage. A
 * chunk that fails its digest disqualifies the checkpoint exactly as a full
 * restore's failed hash does: quarantine and roll back to the previous one,
 * or HF_CORRUPT for a named step.
 */
import type { Tensor } from '../format/dtype.js';
import type { Manifest } from '../format/manifest-types.js';
import type { CheckpointReader } from '../storage/checkpoint-storage.js';
import { findNewestPassing, requirePassing, type Examined, type Passed, type RollbackContext } from './find-valid.js';
import { readParts } from './read-parts.js';
import { checkpointOpener } from './decrypt-file.js';
import { assertBuffers, assertLayoutServable, type PartBuffers, type RestoreLayout } from './tensor-part.js';
import { loadManifest, manifestSignatureProblem } from './verify-checkpoint.js';
import { resolveSources } from './source-reader.js';

export interface RestoredParts {
  manifest: Manifest;
  tensors: Record<string, Tensor>;
}

export function restoreLayout(ctx: RollbackContext, step: number | undefined, layout: RestoreLayout, buffers?: PartBuffers): Promise<Passed<RestoredParts>> {
  const examine = async (own: CheckpointReader): Promise<Examined<RestoredParts>> => {
    const manifest = await loadManifest(own);
    if ('reason' in manifest) return { ok: false, problem: manifest };
    const unsigned = manifestSignatureProblem(own, manifest, ctx.verifyKeys);
    if (unsigned !== undefined) return { ok: false, problem: unsigned };
    // An incremental checkpoint's kept files are read where they live.
    // Before any data is read: a missing or other key is HF_KEY, not a reason to roll back.
    const opener = checkpointOpener(manifest, ctx.decryption, own.location, true);
    const { reader, problems } = await resolveSources(own, manifest, ctx.storage);
    if (problems.length > 0) return { ok: false, problem: problems[0]! };
    const into = typeof buffers === 'function' ? buffers(manifest) : buffers;
    if (typeof buffers === 'function') assertBuffers(into, layout);
    assertLayoutServable(manifest, layout, into, reader.location);
    const read = await readParts(reader, manifest, layout, { io: ctx.io, into, opener });
    return read.ok ? { ok: true, value: { manifest, tensors: read.value }, manifest } : read;
  };
  return step === undefined ? findNewestPassing(ctx, examine) : requirePassing(ctx, step, examine);
}
