/**
 * Content hashes as Holdfast records them: `sha256:<64 lowercase hex>`, or,
 * for a file of a 2.1 manifest over more than one chunk,
 * `sha256-chunks:<64 lowercase hex>` (SHA-256 over its chunk digests, see
 * `chunk-list-hash.ts`). `sha256Hex` hashes bytes (a string is hashed as its UTF-8 bytes).
 * `parseHash` reads a recorded hash against an allowlist of algorithms (today
 * only sha256) and exact hex length; anything else is `HF_FORMAT` (or the code
 * the caller passes), because a reader that guessed at an unknown algorithm
 * or accepted a short hex string would "verify" nothing. `hashProblem` is the
 * same check returning the reason instead of throwing, for callers that build
 * their own error message.
 */
import { createHash } from 'node:crypto';
import { HoldfastError } from '../errors.js';

const HASH_ALGORITHMS = ['sha256', 'sha256-chunks'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

interface ParsedHash {
  algorithm: HashAlgorithm;
  hex: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function formatHash(hex: string): string {
  if (!SHA256_HEX.test(hex)) throw new HoldfastError('HF_INVALID_ARG', `formatHash: expected 64 lowercase hex characters, got ${JSON.stringify(hex.slice(0, 80))}`);
  return `sha256:${hex}`;
}

/**
 * Why `s` is not an acceptable recorded hash, or undefined when it is. `algorithms`: the ones
 * acceptable where it is recorded (a manifest's own hash is always plain `sha256`).
 */
export function hashProblem(s: unknown, algorithms: readonly HashAlgorithm[] = HASH_ALGORITHMS): string | undefined {
  if (typeof s !== 'string') return `expected a string "sha256:<64 hex>", found ${typeof s}`;
  const colon = s.indexOf(':');
  if (colon < 0) return `expected "<algorithm>:<hex>", found ${JSON.stringify(s.slice(0, 80))}`;
  const algorithm = s.slice(0, colon);
  if (!(algorithms as readonly string[]).includes(algorithm)) {
    return `unsupported hash algorithm ${JSON.stringify(algorithm.slice(0, 40))}; expected ${algorithms.join(' or ')} here`;
  }
  const hex = s.slice(colon + 1);
  if (!SHA256_HEX.test(hex)) return `expected 64 lowercase hex characters after "${algorithm}:", found ${JSON.stringify(hex.slice(0, 80))} (${hex.length} characters)`;
  return undefined;
}

export function parseHash(
  s: string,
  path: string,
  where = 'hash',
  code: 'HF_FORMAT' | 'HF_INVALID_ARG' = 'HF_FORMAT',
): ParsedHash {
  const problem = hashProblem(s);
  if (problem !== undefined) throw new HoldfastError(code, `${path}: ${where}: ${problem}`, { path });
  const colon = s.indexOf(':');
  return { algorithm: s.slice(0, colon) as HashAlgorithm, hex: s.slice(colon + 1) };
}
