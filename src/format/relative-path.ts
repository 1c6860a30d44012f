/**
 * Names of files inside a checkpoint, as recorded in a manifest: relative
 * POSIX paths that cannot leave the checkpoint directory (CWE-22) or mean
 * different files on different systems. `assertSafeRelativePath` refuses an
 * empty path, an absolute path, a drive letter (`C:`), `.`/`..`/empty
 * segments, a backslash (a separator on Windows), NUL and control characters,
 * unpaired UTF-16 surrogates (they encode to U+FFFD, so two names could become
 * one file) and components over 255 UTF-8 bytes (NAME_MAX). The error is
 * `HF_FORMAT` by default (a manifest on disk is wrong); callers checking user
 * input pass `HF_INVALID_ARG`. `assertNoDuplicatePaths` refuses two names for
 * one file on a case-insensitive or normalizing file system (same name up to
 * case or Unicode NFC form) and a name used both as a file and as a directory.
 * The `...Problem` functions return the reason instead of throwing.
 */
import { HoldfastError } from '../errors.js';
import { PATH_COMPONENT_MAX_BYTES } from './limits.js';

type InputErrorCode = 'HF_FORMAT' | 'HF_INVALID_ARG';


// C0 controls (incl. NUL), DEL and C1 controls: invisible in listings, and NUL truncates C paths.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// In a /u regex a well-formed pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /\p{Surrogate}/u;
const DRIVE_LETTER = /^[A-Za-z]:/;

/** Why `p` is not a safe relative path, or undefined when it is. */
export function relativePathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string') return `expected a string, found ${p === null ? 'null' : typeof p}`;
  if (p.length === 0) return 'path is empty';
  if (p.startsWith('/')) return 'path is absolute';
  if (DRIVE_LETTER.test(p)) return 'path starts with a drive letter';
  if (p.includes('\\')) return 'path contains a backslash';
  if (CONTROL.test(p)) return 'path contains NUL or a control character';
  if (LONE_SURROGATE.test(p)) return 'path contains an unpaired UTF-16 surrogate';
  for (const segment of p.split('/')) {
    if (segment === '') return 'path has an empty segment';
    if (segment === '.' || segment === '..') return `path has a "${segment}" segment`;
    const sizeBytes = Buffer.byteLength(segment, 'utf8');
    if (sizeBytes > PATH_COMPONENT_MAX_BYTES) return `path component is ${sizeBytes} bytes, over ${PATH_COMPONENT_MAX_BYTES}`;
  }
  return undefined;
}

export function assertSafeRelativePath(p: string, what: string, code: InputErrorCode = 'HF_FORMAT'): void {
  const problem = relativePathProblem(p);
  if (problem !== undefined) {
    throw new HoldfastError(code, `${what}: ${JSON.stringify(p)} is not a safe relative path: ${problem}`, { data: { relativePath: p, problem } });
  }
}

/**
 * The key two names collide under: NFC (macOS normalizes names) then lower
 * case (case-insensitive file systems). Simple lower-casing, not full Unicode
 * case folding: enough for the names Holdfast writes, and strict enough for
 * any name a hostile manifest could use to alias a file Holdfast wrote.
 */
function collisionKey(p: string): string {
  return p.normalize('NFC').toLowerCase();
}

/** Why `paths` cannot all name distinct files, or undefined when they can. */
export function duplicatePathProblem(paths: readonly string[]): string | undefined {
  const files = new Map<string, string>();
  const dirs = new Map<string, string>();
  for (const p of paths) {
    const key = collisionKey(p);
    const sameFile = files.get(key);
    if (sameFile !== undefined) {
      return sameFile === p
        ? `${JSON.stringify(p)} is listed twice`
        : `${JSON.stringify(sameFile)} and ${JSON.stringify(p)} differ only by case or Unicode form`;
    }
    const asDir = dirs.get(key);
    if (asDir !== undefined) return `${JSON.stringify(p)} is a file but ${JSON.stringify(asDir)} puts a file under it`;
    files.set(key, p);
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dirKey = parts.slice(0, i).join('/');
      const clash = files.get(dirKey);
      if (clash !== undefined) return `${JSON.stringify(clash)} is a file but ${JSON.stringify(p)} puts a file under it`;
      if (!dirs.has(dirKey)) dirs.set(dirKey, p);
    }
  }
  return undefined;
}

export function assertNoDuplicatePaths(paths: readonly string[], what: string, code: InputErrorCode = 'HF_FORMAT'): void {
  const problem = duplicatePathProblem(paths);
  if (problem !== undefined) throw new HoldfastError(code, `${what}: duplicate paths: ${problem}`, { data: { problem } });
}
