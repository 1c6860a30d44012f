/**
 * The training-loop pause of an asynchronous save (DESIGN §3, §6). Contract:
 * `snapshotSaveInput(input)` validates the input, copies every tensor's bytes
 * into page-aligned shared staging memory and deep-copies the JSON state,
 * synchronously, and returns an equivalent `SaveInput` whose tensors are views
 * of that copy. After it returns the caller may change or free its tensors:
 * nothing written later reads them. `release()` hands the staging memory back
 * for the next snapshot; call it only after the save that used it finished.
 *
 * Why this layout: tensors are packed back to back in the order of
 * `fileGroups` (default: insertion order), each group starting on a block
 * boundary. A shard file's data also starts on a block boundary (the header is
 * padded to 4096) and its tensors are packed back to back, so when a group is
 * exactly one shard file's tensors in file order, file offset and memory
 * address agree modulo the block size, and `writeFileParts` sends the staged
 * memory straight to O_DIRECT: the snapshot copy is the only copy of the save.
 * Any other grouping is still correct; the writer then copies through its
 * bounce buffers, off the training thread's pause.
 *
 * Within a budget (`budgetBytes`, DESIGN §6): each group, in order, is
 * staged whole if the staged region (padding included) still fits the
 * budget with it; a group that would overflow it is not copied. Its tensors are handed on as
 * the caller's own arrays and listed in `deferred`: the save must write
 * them first and say when it no longer reads them (they are copied then,
 * into the writer's bounded buffers, as they reach the disk), and until then
 * the caller must leave them unchanged. Staged memory never exceeds the budget.
 */
import { HoldfastError } from '../errors.js';
import { assertValidTensor, tensorBytes, typedArrayFor, type Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import type { SaveInput } from '../format/vocabulary.js';
import { roundUp } from './aligned-memory.js';
import type { IoRuntime } from './io-runtime.js';

export interface SaveSnapshot {
  /** Same names, dtypes, shapes and values as the caller's input, in staged memory. */
  input: SaveInput;
  /** Tensor bytes copied. */
  bytes: number;
  /** Tensors not copied (over the budget): still the caller's arrays, to be written before the others. */
  deferred: ReadonlySet<string>;
  /** Their bytes. */
  deferredBytes: number;
  /** Wall time of the copy, in milliseconds: the pause the training loop saw. */
  copyMs: number;
  /** Returns the staging memory for reuse. Idempotent. */
  release(): void;
}

export interface SnapshotOptions {
  /** Its staging memory receives the copy. */
  runtime: IoRuntime;
  /**
   * Tensor names per shard file, in file order. Each group starts block-aligned in staging so
   * the writer can skip its own copy. Names not listed go last, in insertion order.
   */
  fileGroups?: readonly (readonly string[])[];
  /** Block size the groups are aligned to (default 4096, the O_DIRECT alignment). */
  alignBytes?: number;
  /** Staging memory at most, padding included (default: no limit). Groups past it are deferred. */
  budgetBytes?: number;
}

export function snapshotSaveInput(input: SaveInput, options: SnapshotOptions): SaveSnapshot {
  const started = performance.now();
  const staging = options.runtime.staging;
  const align = options.alignBytes ?? 4096;
  const tensors = input.tensors ?? {};
  for (const [name, t] of Object.entries(tensors)) assertValidTensor(name, t);
  const groups = groupNames(Object.keys(tensors), options.fileGroups);

  const budget = options.budgetBytes ?? Infinity;
  const placed: { name: string; offset: number; bytes: number }[] = [];
  const deferred = new Set<string>();
  let deferredBytes = 0;
  let total = 0;
  for (const group of groups) {
    const start = roundUp(total, align);
    const groupBytes = group.reduce((n, name) => n + tensors[name]!.data.byteLength, 0);
    if (start + groupBytes > budget) {
      for (const name of group) deferred.add(name);
      deferredBytes += groupBytes;
      continue;
    }
    total = start;
    for (const name of group) {
      const n = tensors[name]!.data.byteLength;
      placed.push({ name, offset: total, bytes: n });
      total += n;
    }
  }
  const region = total === 0 ? undefined : budget === Infinity ? staging.take(total) : staging.takeWithin(total, budget);
  const out: Record<string, Tensor> = {};
  let released = false;
  try {
    // Same key order as the caller's groups, so the save plans the same shard files.
    const staged = new Map(placed.map((p) => [p.name, p]));
    for (const name of groups.flat()) {
      const t = tensors[name]!;
      const p = staged.get(name);
      if (p === undefined) {
        out[name] = t;
        continue;
      }
      const dst = region!.subarray(p.offset, p.offset + p.bytes);
      dst.set(tensorBytes(t));
      out[name] = { dtype: t.dtype, shape: [...t.shape], data: typedArrayFor(t.dtype, dst) };
    }
  } catch (e) {
    if (region !== undefined) staging.give(region);
    throw e;
  }
  const state = input.state === undefined ? undefined : (structuredClone(input.state) as JsonValue);
  const snapInput: SaveInput = state === undefined ? { tensors: out } : { tensors: out, state };
  return {
    input: snapInput,
    bytes: placed.reduce((n, p) => n + p.bytes, 0),
    deferred,
    deferredBytes,
    copyMs: performance.now() - started,
    release() {
      if (released) return;
      released = true;
      if (region !== undefined) staging.give(region);
    },
  };
}

function groupNames(names: string[], fileGroups: SnapshotOptions['fileGroups']): string[][] {
  if (fileGroups === undefined) return [names];
  const known = new Set(names);
  const seen = new Set<string>();
  const groups: string[][] = [];
  for (const g of fileGroups) {
    const group: string[] = [];
    for (const name of g) {
      if (!known.has(name)) throw new HoldfastError('HF_INVALID_ARG', `fileGroups names tensor "${name}", which is not in the input`);
      if (seen.has(name)) throw new HoldfastError('HF_INVALID_ARG', `fileGroups names tensor "${name}" twice`);
      seen.add(name);
      group.push(name);
    }
    groups.push(group);
  }
  const rest = names.filter((n) => !seen.has(n));
  if (rest.length > 0) groups.push(rest);
  return groups;
}
