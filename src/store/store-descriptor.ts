/**
 * `holdfast.json`: marks a directory as a Holdfast store and records the
 * on-disk format version and hash algorithm, so a future reader meeting a
 * newer store refuses clearly instead of misreading it.
 */
import { posix as path } from 'node:path';
import { HoldfastError, formatError } from '../errors.js';
import { parseStrictJson, decodeUtf8Strict } from '../format/strict-json.js';
import { STORE_DESCRIPTOR } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { readWholeFile, statOrUndefined, writeNewFile } from '../fs/file-utils.js';

const STORE_FORMAT = 'holdfast-store';
const STORE_VERSION = '1.0';
const HASH_ALGORITHM = 'sha256';

export async function readOrCreateDescriptor(fs: FileSystem, root: string, options: { durable: boolean; create: boolean }): Promise<void> {
  const { durable } = options;
  const p = path.join(root, STORE_DESCRIPTOR);
  if ((await statOrUndefined(fs, p)) === undefined) {
    // Opening for reading must never turn an arbitrary directory into a store.
    if (!options.create) throw new HoldfastError('HF_NOT_FOUND', `no store at ${root} (no ${STORE_DESCRIPTOR})`, { path: root });
    const body = JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION, hash: HASH_ALGORITHM }, null, 2) + '\n';
    await writeNewFile(fs, p, new TextEncoder().encode(body), { sync: durable });
    if (durable) await fs.syncDir(root);
    return;
  }
  const d = parseStrictJson(decodeUtf8Strict(await readWholeFile(fs, p, 1 << 20), 'store descriptor', p), 'store descriptor', p) as Record<string, unknown>;
  if (d === null || typeof d !== 'object' || d['format'] !== STORE_FORMAT) {
    throw formatError(`${p}: not a Holdfast store descriptor (expected "format": "${STORE_FORMAT}")`, { path: p });
  }
  const major = typeof d['version'] === 'string' ? d['version'].split('.')[0] : undefined;
  if (major !== STORE_VERSION.split('.')[0]) {
    throw formatError(`${p}: store format version ${JSON.stringify(d['version'])} is not readable by this build (reads ${STORE_VERSION.split('.')[0]}.x)`, { path: p });
  }
  if (d['hash'] !== HASH_ALGORITHM) {
    throw formatError(`${p}: hash algorithm ${JSON.stringify(d['hash'])} is not supported (expected "${HASH_ALGORITHM}")`, { path: p });
  }
}
