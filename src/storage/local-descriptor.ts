/**
 * `holdfast.json`: marks a directory as a Holdfast store and records the
 * on-disk format version and hash algorithm, so a future reader meeting a
 * newer store refuses clearly instead of misreading it.
 *
 * It is created atomically (temporary file, fsync, rename, directory fsync):
 * a full disk or a crash mid-create leaves no descriptor, or an empty or
 * partial one, which counts as "not created" and is simply written again.
 * Every creator writes the same bytes, so two processes creating one store
 * at once both succeed and agree.
 */
import { posix as path } from 'node:path';
import { HoldfastError, formatError } from '../errors.js';
import { STORE_DESCRIPTOR } from '../format/names.js';
import { newNonce } from '../format/nonce.js';
import { decodeUtf8Strict, parseStrictJson } from '../format/strict-json.js';
import type { FileSystem } from '../fs/file-system.js';
import { readWholeFile, statOrUndefined, writeNewFile } from '../fs/file-utils.js';
import { describeEntryType } from '../fs/file-system.js';

const STORE_FORMAT = 'holdfast-store';
const STORE_VERSION = '1.0';
const HASH_ALGORITHM = 'sha256';
const DESCRIPTOR_MAX_BYTES = 1 << 20;
const DESCRIPTOR_BYTES = new TextEncoder().encode(JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION, hash: HASH_ALGORITHM }, null, 2) + '\n');

export async function readOrCreateDescriptor(fs: FileSystem, root: string, options: { durable: boolean; create: boolean }): Promise<void> {
  const p = path.join(root, STORE_DESCRIPTOR);
  const bytes = await readDescriptorBytes(fs, p);
  if (bytes !== undefined && !isUnfinished(bytes)) return checkDescriptor(bytes, p);
  // Opening for reading must never turn an arbitrary directory into a store.
  if (!options.create) {
    const why = bytes === undefined ? `no ${STORE_DESCRIPTOR}` : `${STORE_DESCRIPTOR} is ${bytes.byteLength === 0 ? 'empty' : 'incomplete'}: its creation was interrupted`;
    throw new HoldfastError('HF_NOT_FOUND', `no store at ${root} (${why})`, { path: root });
  }
  const tmp = path.join(root, `.${STORE_DESCRIPTOR}.${newNonce()}.tmp`);
  try {
    await writeNewFile(fs, tmp, DESCRIPTOR_BYTES, { sync: options.durable });
    await fs.rename(tmp, p);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (options.durable) await fs.syncDir(root);
}

/** The descriptor's bytes, undefined when absent; never opens anything but a regular file (a FIFO would block). */
async function readDescriptorBytes(fs: FileSystem, p: string): Promise<Uint8Array | undefined> {
  const st = await statOrUndefined(fs, p);
  if (st === undefined) return undefined;
  if (st.type !== 'file') throw formatError(`${p} is ${describeEntryType(st.type)}, expected a regular file (the store descriptor)`, { path: p, data: { found: st.type } });
  return readWholeFile(fs, p, DESCRIPTOR_MAX_BYTES);
}

/** Empty, or a strict prefix of what a creator writes: a create that did not finish. */
function isUnfinished(bytes: Uint8Array): boolean {
  return bytes.byteLength < DESCRIPTOR_BYTES.byteLength && bytes.every((b, i) => b === DESCRIPTOR_BYTES[i]);
}

function checkDescriptor(bytes: Uint8Array, p: string): void {
  const d = parseStrictJson(decodeUtf8Strict(bytes, 'store descriptor', p), 'store descriptor', p) as Record<string, unknown>;
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
