/**
 * An incremental checkpoint's reader: the files its manifest keeps from an
 * earlier checkpoint (`source` {step, nonce}) are read from that checkpoint,
 * every other name from its own. A source is followed only while it is the
 * very attempt the manifest names (same nonce, its own manifest intact): a
 * source quarantined, deleted or re-saved at the same step makes those files
 * missing, so a damaged parent fails the child instead of lending it someone
 * else's bytes. (A damaged file of the parent fails the child's own hash
 * check of that file.)
 */
import type { FileSource, Manifest } from '../format/manifest-types.js';
import type { FileProblem } from '../format/vocabulary.js';
import type { CheckpointReader, CheckpointStorage } from '../storage/checkpoint-storage.js';
import { loadManifest } from './verify-checkpoint.js';

export interface ResolvedSources {
  reader: CheckpointReader;
  /** One per file whose source cannot be followed; those files are not to be read. */
  problems: FileProblem[];
}

export async function resolveSources(own: CheckpointReader, manifest: Manifest, storage: CheckpointStorage | undefined): Promise<ResolvedSources> {
  const sourceOf = new Map<string, FileSource>();
  for (const f of manifest.files) if (f.source !== undefined) sourceOf.set(f.path, f.source);
  if (sourceOf.size === 0) return { reader: own, problems: [] };
  const readers = new Map<string, CheckpointReader>();
  const problems: FileProblem[] = [];
  const opened = new Map<string, CheckpointReader | string>();
  for (const [path, source] of sourceOf) {
    const key = `${source.step}/${source.nonce}`;
    if (!opened.has(key)) opened.set(key, await openSource(storage, source));
    const got = opened.get(key)!;
    if (typeof got === 'string') problems.push({ file: path, reason: 'missing', message: `${own.locate(path)}: ${got}` });
    else readers.set(path, got);
  }
  const route = (name: string): CheckpointReader => readers.get(name) ?? own;
  const reader: CheckpointReader = {
    step: own.step,
    location: own.location,
    locate: (name) => (readers.has(name) ? `${readers.get(name)!.locate(name)} (kept for checkpoint ${own.step})` : own.locate(name)),
    statFile: (name) => route(name).statFile(name),
    readSmallFile: (name, max) => route(name).readSmallFile(name, max),
    readRange: (name, offset, into) => route(name).readRange(name, offset, into),
    readHashed: (name, size, options) => route(name).readHashed(name, size, options),
  };
  return { reader, problems };
}

/** The source's reader, or why it cannot be followed. */
async function openSource(storage: CheckpointStorage | undefined, source: FileSource): Promise<CheckpointReader | string> {
  const { step, nonce } = source;
  if (storage === undefined) return `kept in checkpoint ${step}, which this reader cannot open`;
  const reader = await storage.open(step);
  if (reader === undefined) return `kept in checkpoint ${step}, which is no longer committed (deleted or quarantined)`;
  const manifest = await loadManifest(reader);
  if ('reason' in manifest) return `kept in checkpoint ${step}, whose manifest is damaged: ${manifest.message}`;
  if (manifest.nonce !== nonce) return `kept in checkpoint ${step} as saved by attempt ${nonce}, but step ${step} now holds attempt ${manifest.nonce}`;
  return reader;
}
