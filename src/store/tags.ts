/**
 * Tags: a name pinned to one committed step (`holdfast tag <store> <step> <name>`), stored as the
 * record `tag.<name>` through the storage seam so it works on every backend. Retention never
 * deletes a tagged checkpoint. A name points at one step at a time; moving it is untag, then tag.
 * Tagging and untagging take the writer lease, so a gc never races a tag being set.
 */
import { HoldfastError, invalidArg } from '../errors.js';
import { assertValidRecordName, assertValidStep } from '../format/names.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';

const TAG_RECORD_PREFIX = 'tag.';

export interface Tag {
  name: string;
  step: number;
}

export function assertValidTagName(name: unknown): asserts name is string {
  assertValidRecordName(name, 'tag name');
  if (name.length > 100) throw invalidArg(`tag name must be at most 100 characters, got ${name.length}`);
}

/** Every tag of the store, by name. A record that does not parse is reported, never guessed at. */
export async function readTags(storage: CheckpointStorage): Promise<Tag[]> {
  const tags: Tag[] = [];
  for (const record of await storage.records.list()) {
    if (!record.startsWith(TAG_RECORD_PREFIX)) continue;
    const bytes = await storage.records.read(record);
    if (bytes === undefined) continue; // untagged meanwhile
    tags.push({ name: record.slice(TAG_RECORD_PREFIX.length), step: parseTagStep(bytes, `${storage.location} record ${record}`) });
  }
  return tags;
}

/** Steps → their tag names. */
export function tagsByStep(tags: readonly Tag[]): Map<number, string[]> {
  const byStep = new Map<number, string[]>();
  for (const t of tags) byStep.set(t.step, [...(byStep.get(t.step) ?? []), t.name]);
  return byStep;
}

/** Pins `name` to committed `step`; the caller holds the writer lease. Tagging the same step again is a no-op. */
export async function setTag(storage: CheckpointStorage, step: number, name: string): Promise<void> {
  assertValidStep(step);
  assertValidTagName(name);
  const existing = (await readTags(storage)).find((t) => t.name === name);
  if (existing?.step === step) return;
  if (existing !== undefined) {
    throw invalidArg(`tag ${JSON.stringify(name)} already names step ${existing.step}; untag it first to move it to step ${step}`, { data: { tag: name, step: existing.step } });
  }
  if ((await storage.open(step)) === undefined) {
    throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${storage.location} to tag`, { path: storage.location, data: { step } });
  }
  const record = JSON.stringify({ tag: name, step, at: new Date().toISOString() }) + '\n';
  await storage.records.write(TAG_RECORD_PREFIX + name, new TextEncoder().encode(record));
}

/** Removes tag `name`; returns the step it named. Throws HF_NOT_FOUND when there is no such tag. */
export async function removeTag(storage: CheckpointStorage, name: string): Promise<number> {
  assertValidTagName(name);
  const existing = (await readTags(storage)).find((t) => t.name === name);
  if (existing === undefined) throw new HoldfastError('HF_NOT_FOUND', `no tag ${JSON.stringify(name)} in ${storage.location}`, { path: storage.location, data: { tag: name } });
  await storage.records.remove(TAG_RECORD_PREFIX + name);
  return existing.step;
}

function parseTagStep(bytes: Uint8Array, where: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new HoldfastError('HF_FORMAT', `${where}: a tag record must be JSON {"tag", "step"}, found unparsable bytes`, { path: where, cause: e });
  }
  const step = (doc as { step?: unknown } | null)?.step;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw new HoldfastError('HF_FORMAT', `${where}: a tag record must name a step (non-negative integer), found ${JSON.stringify(step)}`, { path: where });
  }
  return step;
}
