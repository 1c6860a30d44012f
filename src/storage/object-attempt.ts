/**
 * A multi-rank attempt on an object store (layout in object-storage.ts):
 * every rank uploads its files to `ckpt-<step>/<nonce>/` and PUTs its record
 * to `ckpt-<step>/<nonce>/records/<name>` with `If-None-Match: *`; the leader
 * commits with the one exclusive single-part manifest PUT a single-process
 * save uses. The attempt prefix is the nonce's, so files of two attempts are
 * never mixed, and sweep removes an uncommitted prefix after its grace.
 * Epoch records are `epochs/<E:020>.json`, created the same way.
 */
import { chunkDigestsOf } from '../format/chunk-digests.js';
import { chunkListHash } from '../format/chunk-list-hash.js';
import { HoldfastError } from '../errors.js';
import { sameBytes } from '../format/bytes.js';
import { EPOCHS_DIR, MANIFEST_FILE, ATTEMPT_RECORDS_DIR, SHA256SUMS_FILE, checkpointDirName, epochRecordName, parseEpochRecordName } from '../format/names.js';
import type { FileWriteOptions } from '../io/io-options.js';
import { sealRecords } from '../io/seal-records.js';
import type { WrittenFile } from '../io/write-file-parts.js';
import type { AttemptArea, EpochBackend } from './checkpoint-storage.js';
import type { ObjectClient } from './object-client.js';

/** Store-relative key → bucket key, and the store's location for messages. */
export interface ObjectKeys {
  key(relative: string): string;
  readonly location: string;
}

/**
 * `If-None-Match: *` whose outcome is settled by the object itself: a lost response, or a 412 on
 * a retry of our own PUT, finds our bytes there and counts as created. False: another writer's.
 */
export async function putIfAbsentSettled(client: ObjectClient, key: string, bytes: Uint8Array): Promise<boolean> {
  let created: boolean;
  try {
    created = await client.putIfAbsent(key, bytes);
  } catch (e) {
    const there = await client.get(key).catch(() => undefined);
    if (there === undefined) throw e;
    return sameBytes(there.bytes, bytes);
  }
  if (created) return true;
  const there = await client.get(key);
  return there !== undefined && sameBytes(there.bytes, bytes);
}

export function objectAttemptArea(client: ObjectClient, keys: ObjectKeys, step: number, nonce: string): AttemptArea {
  const prefix = `${checkpointDirName(step)}/${nonce}/`;
  const recordsPrefix = keys.key(`${prefix}${ATTEMPT_RECORDS_DIR}/`);
  const manifestKey = `${checkpointDirName(step)}/${MANIFEST_FILE}`;
  return {
    step,
    nonce,
    location: keys.location + prefix,
    writeFile: async (name: string, plainParts: readonly Uint8Array[], options: FileWriteOptions): Promise<WrittenFile> => {
      const parts = options.seal === undefined ? plainParts : await sealRecords(options.runtime.ciphers, options.seal, plainParts);
      // The parts are in memory: their chunk digests are known before the upload, as its part checksums need.
      const chunks = chunkDigestsOf(parts);
      const upload = client.upload(keys.key(prefix + name), { partBytes: chunks.bytes, partSha256: (i) => chunks.sha256[i]! });
      let sizeBytes = 0;
      try {
        for (const part of parts) {
          sizeBytes += part.byteLength;
          await upload.write(part);
        }
        await upload.close();
      } catch (e) {
        await upload.abort();
        throw e;
      }
      const hash = chunkListHash(chunks.sha256);
      const written: WrittenFile = { sizeBytes, sha256Hex: hash.slice(hash.indexOf(':') + 1), hash, ioMethod: 'buffered', chunks };
      return options.seal === undefined ? written : { ...written, sealed: true };
    },
    statFile: async (name) => {
      const info = await client.head(keys.key(prefix + name));
      return info === undefined ? undefined : { kind: 'file', sizeBytes: info.sizeBytes };
    },
    putRecord: (name, bytes) => putIfAbsentSettled(client, recordsPrefix + name, bytes),
    readRecord: async (name) => (await client.get(recordsPrefix + name))?.bytes,
    listRecords: async () => (await client.list(recordsPrefix)).map((o) => o.key.slice(recordsPrefix.length)).filter((n) => n !== '' && !n.includes('/')),
    commit: async (manifest, sums) => {
      await client.put(keys.key(prefix + SHA256SUMS_FILE), sums);
      if (!(await putIfAbsentSettled(client, keys.key(manifestKey), manifest))) {
        const where = keys.location + manifestKey;
        throw new HoldfastError('HF_STEP_EXISTS', `step ${step} already exists at ${where}: another attempt committed it first`, { path: where, data: { step } });
      }
    },
  };
}

export function objectEpochBackend(client: ObjectClient, keys: ObjectKeys): EpochBackend {
  const dir = keys.key(`${EPOCHS_DIR}/`);
  return {
    location: keys.location + `${EPOCHS_DIR}/`,
    list: async () =>
      (await client.list(dir))
        .map((o) => /^(\d{20})\.json$/.exec(o.key.slice(dir.length))?.[1])
        .map((n) => (n === undefined ? undefined : parseEpochRecordName(n)))
        .filter((e): e is number => e !== undefined)
        .sort((a, b) => a - b),
    read: async (epoch) => (await client.get(`${dir}${epochRecordName(epoch)}.json`))?.bytes,
    createExclusive: (epoch, record) => putIfAbsentSettled(client, `${dir}${epochRecordName(epoch)}.json`, record),
  };
}
