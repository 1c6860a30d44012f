/**
 * Reading and writing `manifest.json`, the document that binds the files of
 * one checkpoint (DESIGN §7). `manifestHash` is sha256 over the canonical JSON
 * (canonical-json.ts) of every other field, so re-indenting or re-ordering
 * keys never breaks it while any change of value does. `encodeManifest`
 * writes pretty JSON for humans; `parseManifest` refuses, in order: more than
 * `maxBytes` (MANIFEST_MAX_BYTES, 64 MiB), invalid UTF-8, invalid or duplicate-key JSON or a
 * number not written as `JSON.stringify` writes it (HF_FORMAT);
 * another format or an unknown major version (HF_FORMAT); a recorded hash that
 * disagrees with the content (HF_CORRUPT); then any schema violation
 * (HF_FORMAT, see manifest-validate.ts). The hash is compared before the full
 * schema check on purpose: a flipped bit that happens to break a field is
 * then reported as what it is, corruption, not as a malformed field.
 * `sealManifest` validates what it seals, so a writer bug fails the save
 * instead of producing a checkpoint that every later restore refuses.
 */
import { corrupt, formatError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { MANIFEST_MAX_BYTES } from './limits.js';
import { assertReadableManifestVersion, validateManifest } from './manifest-validate.js';
import { UNHASHED_FIELDS, type Manifest } from './manifest-types.js';
import { formatHash, hashProblem, sha256Hex } from './sha256.js';
import { decodeUtf8Strict, parseStrictJson } from './strict-json.js';

export { assertReadableManifestVersion, validateManifest } from './manifest-validate.js';

/** Over every field but `manifestHash` and `signature` (which signs the hash). */
export function computeManifestHash(m: Omit<Manifest, 'manifestHash'> | Manifest): string {
  // Object.fromEntries defines properties, so no key is ever treated as a prototype.
  const hashed = Object.fromEntries(Object.entries(m).filter(([key]) => !UNHASHED_FIELDS.includes(key)));
  return formatHash(sha256Hex(canonicalJson(hashed)));
}

export function sealManifest(m: Omit<Manifest, 'manifestHash'>): Manifest {
  const sealed: Manifest = { ...m, manifestHash: computeManifestHash(m) };
  return validateManifest(sealed, '(being sealed)');
}

export function encodeManifest(m: Manifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(m, null, 2)}\n`);
}

export function parseManifest(bytes: Uint8Array, path: string, maxBytes = MANIFEST_MAX_BYTES): Manifest {
  if (bytes.byteLength > maxBytes) {
    throw formatError(`manifest ${path}: ${bytes.byteLength} bytes, over the ${maxBytes}-byte cap`, { path, data: { sizeBytes: bytes.byteLength, maxBytes } });
  }
  // Holdfast writes every number as JSON.stringify does; any other form is not a manifest we wrote.
  const doc = parseStrictJson(decodeUtf8Strict(bytes, 'manifest', path), 'manifest', path, { canonicalNumbers: true });
  assertReadableManifestVersion(doc, path);
  assertRecordedHash(doc as Record<string, unknown>, path);
  return validateManifest(doc, path);
}

/** When `manifestHash` is well-formed, it must match; a malformed one is left to the schema check. */
function assertRecordedHash(doc: Record<string, unknown>, path: string): void {
  const recorded = doc.manifestHash;
  if (typeof recorded !== 'string' || hashProblem(recorded, ['sha256']) !== undefined) return;
  const computed = computeManifestHash(doc as unknown as Manifest);
  if (computed !== recorded) {
    throw corrupt(`manifest ${path}: manifest hash mismatch: recorded ${recorded} computed ${computed}`, { path, data: { recorded, computed } });
  }
}
