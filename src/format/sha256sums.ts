/**
 * The `SHA256SUMS` file written beside each manifest, in the coreutils
 * format (`<64 hex><space><space><path>\n`; two spaces mean text mode, which
 * is the same as binary on POSIX), so `sha256sum -c SHA256SUMS` verifies a
 * checkpoint without Holdfast. Paths must be safe relative paths: coreutils
 * escapes names holding a newline or backslash with a leading `\`, and a safe
 * path has neither, so no escaping is ever needed. Lines follow input order.
 * Only files recorded by their plain SHA-256 are listed: a `sha256-chunks`
 * hash (2.1, files over one chunk) is not what `sha256sum` computes, so a
 * 2.1 checkpoint's list holds its small files only (see README, "Checking
 * without Holdfast", for the coreutils check of the others).
 * Bad input (a malformed hash or unsafe path) is `HF_INVALID_ARG`: this
 * writes what the caller already validated.
 */
import { assertSafeRelativePath } from './relative-path.js';
import { parseHash } from './sha256.js';

interface Sha256SumsEntry {
  path: string;
  /** `sha256:<hex>`, as recorded in the manifest. */
  hash: string;
}

export function encodeSha256Sums(files: readonly Sha256SumsEntry[]): Uint8Array {
  const lines = files.flatMap(({ path, hash }) => {
    assertSafeRelativePath(path, 'SHA256SUMS entry', 'HF_INVALID_ARG');
    const { algorithm, hex } = parseHash(hash, path, 'SHA256SUMS hash', 'HF_INVALID_ARG');
    return algorithm === 'sha256' ? [`${hex}  ${path}\n`] : [];
  });
  return new TextEncoder().encode(lines.join(''));
}
