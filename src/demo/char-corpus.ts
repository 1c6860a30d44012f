/**
 * A character-level text corpus for the training demo and tests: the text,
 * its vocabulary, and the (context → next character) examples a language
 * model learns from. Example i is the `contextLength` characters starting at
 * i and the character after them.
 *
 * Contract: everything is a pure function of the file's bytes and the
 * options (lower-casing, context length), so two processes reading the same
 * file build the same examples; `sha256` names the bytes for the run config.
 * The file is read through the `FileSystem` seam like every other byte.
 */
import { createHash } from 'node:crypto';
import { invalidArg } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { readWholeFile } from '../fs/file-utils.js';

/** Larger corpora belong in a streaming loader, not in one string. */
const MAX_CORPUS_BYTES = 16 * 1024 * 1024;

interface CharCorpusOptions {
  contextLength: number;
  /** Fold case so the vocabulary (and the model) stays small. Default true. */
  lowercase?: boolean;
}

export interface CharCorpus {
  /** `sha256:<hex>` of the file's bytes. */
  sha256: string;
  /** Sorted distinct characters (code points). */
  vocab: string[];
  /** The text as vocabulary ids. */
  ids: Uint16Array;
  contextLength: number;
  exampleCount: number;
}

/**
 * Reads a UTF-8 text file into a corpus.
 * @throws HF_INVALID_ARG when the text is too short for one example or has more than 65535 distinct characters.
 */
export async function loadCharCorpus(fs: FileSystem, path: string, options: CharCorpusOptions): Promise<CharCorpus> {
  const bytes = await readWholeFile(fs, path, MAX_CORPUS_BYTES + 1);
  if (bytes.byteLength > MAX_CORPUS_BYTES) throw invalidArg(`${path}: corpus is larger than ${MAX_CORPUS_BYTES} bytes`);
  const sha256 = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  let text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (options.lowercase ?? true) text = text.toLowerCase();
  return buildCharCorpus(text, options.contextLength, sha256);
}

/** The corpus of an in-memory text (tests); `sha256` is computed over its UTF-8 bytes. */
export function charCorpusFromText(text: string, contextLength: number): CharCorpus {
  const sha256 = 'sha256:' + createHash('sha256').update(text, 'utf8').digest('hex');
  return buildCharCorpus(text, contextLength, sha256);
}

function buildCharCorpus(text: string, contextLength: number, sha256: string): CharCorpus {
  if (!Number.isSafeInteger(contextLength) || contextLength < 1) throw invalidArg(`context length ${contextLength} must be a positive integer`);
  const chars = Array.from(text);
  const vocab = [...new Set(chars)].sort();
  if (vocab.length > 0xffff) throw invalidArg(`corpus has ${vocab.length} distinct characters; at most 65535 are supported`);
  const idOf = new Map(vocab.map((c, i) => [c, i] as const));
  const ids = Uint16Array.from(chars, (c) => idOf.get(c)!);
  const exampleCount = ids.length - contextLength;
  if (exampleCount < 1) throw invalidArg(`corpus of ${ids.length} characters is too short for context length ${contextLength}`);
  return { sha256, vocab, ids, contextLength, exampleCount };
}

/** One batch: `contexts` is [batch, contextLength] ids row-major; `targets` is [batch]. */
export interface CharBatch {
  size: number;
  contextLength: number;
  contexts: Int32Array;
  targets: Int32Array;
}

/**
 * The batch of the given example indices. Each context id is replaced by
 * `maskId` with probability `maskRate`, drawing from `rng` (one draw per
 * context position, always, so the stream advances the same way whatever the
 * outcome); with `rng` undefined the batch is clean.
 */
export function makeCharBatch(
  corpus: CharCorpus,
  indices: readonly number[],
  augment?: { rng: { nextFloat(): number }; maskRate: number; maskId: number },
): CharBatch {
  const c = corpus.contextLength;
  const contexts = new Int32Array(indices.length * c);
  const targets = new Int32Array(indices.length);
  indices.forEach((start, row) => {
    if (!Number.isSafeInteger(start) || start < 0 || start >= corpus.exampleCount) throw invalidArg(`example index ${start} is out of range`);
    for (let k = 0; k < c; k++) {
      const masked = augment !== undefined && augment.rng.nextFloat() < augment.maskRate;
      contexts[row * c + k] = masked ? augment.maskId : corpus.ids[start + k]!;
    }
    targets[row] = corpus.ids[start + c]!;
  });
  return { size: indices.length, contextLength: c, contexts, targets };
}
