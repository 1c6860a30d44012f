/**
 * Content hashes as Holdfast records them: `sha256:<64 lowercase hex>`.
 * `sha256Hex` hashes bytes (a string is hashed as its UTF-8 bytes).
 * `parseHash` reads a recorded hash against an allowlist of algorithms (today
 * only sha256) and exact hex length; anything else is `HF_FORMAT` (or the code
 * the caller passes), because a reader that guessed at an unknown algorithm
 * or accepted a short hex string would "verify" nothing. `hashProblem` is the
 * same check returning the reason instead of throwing, for callers that build
 * their own error message.
 */
import { createHash } from 'node:crypto';
import { HoldfastError } from '../errors.js';

const HASH_ALGORITHMS = ['sha256'] as const;
type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

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

/** Why `s` is not an acceptable recorded hash, or undefined when it is. */
export function hashProblem(s: unknown): string | undefined {
  if (typeof s !== 'string') return `expected a string "sha256:<64 hex>", found ${typeof s}`;
  const colon = s.indexOf(':');
  if (colon < 0) return `expected "<algorithm>:<hex>", found ${JSON.stringify(s.slice(0, 80))}`;
  const algorithm = s.slice(0, colon);
  if (!(HASH_ALGORITHMS as readonly string[]).includes(algorithm)) {
    return `unsupported hash algorithm ${JSON.stringify(algorithm.slice(0, 40))}; this build reads ${HASH_ALGORITHMS.join(', ')}`;
  }
  const hex = s.slice(colon + 1);
  if (!SHA256_HEX.test(hex)) return `expected 64 lowercase hex characters after "sha256:", found ${JSON.stringify(hex.slice(0, 80))} (${hex.length} characters)`;
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
  return { algorithm: 'sha256', hex: s.slice('sha256:'.length) };
}
