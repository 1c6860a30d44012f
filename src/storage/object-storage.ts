/**
 * `ObjectStorage`: a `CheckpointStorage` over an `ObjectClient` (S3's
 * operations and nothing else: no rename, no append, no directories), the
 * object-store counterpart of `LocalStorage`. One layout, two clients: the
 * in-memory twin (`MemoryObjectStorage`, the proof that commit and restore
 * need no POSIX) and S3 (`S3Storage`).
 *
 * Key layout (under an optional `prefix`, e.g. `runs/a/`; `<step>` is the
 * 12-digit zero-padded step, `<nonce>` the attempt's 32-hex nonce):
 *
 *   ckpt-<step>/manifest.json          the commit point: exactly one per step, created with
 *                                      `If-None-Match: *`; it names its nonce
 *   ckpt-<step>/<nonce>/<name>         the attempt's files (shards, copied files), and
 *   ckpt-<step>/<nonce>/SHA256SUMS     written before the manifest (a reader serves it by name)
 *   quarantine/ckpt-<step>-<time>-<id>/manifest.json   a byte copy of a quarantined manifest
 *   quarantine/ckpt-<step>-<time>-<id>/record.json     why, and which attempt prefixes it keeps
 *   audit/<time>-<nonce>.json          one object per audit line (S3 has no append)
 *   lease/record                       the writer lease
 *   records/<name>                     a small named record (a tag); one PUT replaces it whole
 *   ckpt-<step>/<nonce>/records/<name> a multi-rank attempt's rank records and abort marker (object-attempt.ts)
 *   epochs/<E:020>.json                a job incarnation's epoch record (never deleted)
 *
 * Rules that follow from having no rename:
 * - Commit = single-part PUT of the manifest with `If-None-Match: *`. 412 means another attempt
 *   committed the step (HF_STEP_EXISTS) unless the manifest there is byte-for-byte ours (a retry of
 *   our own PUT). A PUT whose response was lost is settled the same way: read the manifest back; our
 *   bytes (our nonce, our manifest hash) mean committed.
 * - A reader maps `manifest.json` to the step's manifest and every other name to the prefix of the
 *   nonce that manifest names. The manifest is read once, at `open`, so one reader never mixes two
 *   commits of a step.
 * - Un-commit (quarantine, remove) deletes the manifest with `If-Match` on the version that was
 *   read, so a checkpoint committed again since is never deleted by mistake. On AWS S3 that can
 *   be DeleteObject with `If-Match: <ETag>`; Ceph RGW 16 ignores that header on DELETE (measured),
 *   so `S3ObjectClient` does it as a PUT with `If-Match` to a tombstone, then a DELETE.
 * - Quarantine never deletes a byte: the manifest is copied and un-committed; the attempt's objects
 *   stay where they are and the quarantine record names their prefix, so sweep leaves them.
 * - Remove deletes the manifest first, then the attempt's objects: a crash in between leaves only
 *   garbage, never a committed manifest naming missing files.
 * - Sweep deletes attempt prefixes that neither a committed manifest nor a quarantine record names,
 *   once their newest object is older than the grace period (a slow live writer's are younger),
 *   reading the step's manifest once more just before deleting; and aborts multipart uploads under
 *   `ckpt-` begun longer than the grace period ago (a killed writer's, or a begin whose response was
 *   lost and was retried), which never touches a completed object.
 * - Data objects go up in parts of the manifest's chunk size, each part checksummed with its chunk
 *   digest (s3-upload.ts); a reader's bulk read is ranged GETs of one chunk each, every chunk checked
 *   against the manifest as it arrives (object-chunked-read.ts).
 * - Durability modes make no difference: a PUT is durable when it returns, and nothing is visible
 *   before the manifest PUT. `dirSync` is meaningless here.
 */
import { HoldfastError } from '../errors.js';
import { sameBytes } from '../format/bytes.js';
import { DEFAULT_CHUNK_BYTES } from '../format/manifest-types.js';
import { MANIFEST_FILE, SHA256SUMS_FILE, assertValidRecordName, checkpointDirName, compactTimestamp, quarantineName } from '../format/names.js';
import { newNonce } from '../format/nonce.js';
import { ChunkedSha256 } from '../io/file-digest.js';
import type { FileWriteOptions } from '../io/io-options.js';
import { sealRecords } from '../io/seal-records.js';
import type { HashedRead } from '../io/read-file-hashed.js';
import type { WrittenFile } from '../io/write-file-parts.js';
import { objectAttemptArea, objectEpochBackend } from './object-attempt.js';
import type {
  AttemptArea,
  AuditAction,
  BeginOptions,
  BlobSink,
  CheckpointReader,
  CheckpointStorage,
  CheckpointWriter,
  EpochBackend,
  LeaseBackend,
  QuarantineResult,
  RecordStore,
  StorageCapabilities,
  StoredFileInfo,
  SweepOptions,
  SweepResult,
} from './checkpoint-storage.js';
import { auditLine } from './local-audit-log.js';
import { readObjectChunked } from './object-chunked-read.js';
import type { ObjectClient } from './object-client.js';
import type { WriterLease } from './writer-lease.js';

const MANIFEST_KEY_RE = /^ckpt-(\d{12,16})\/manifest\.json$/;
const ATTEMPT_KEY_RE = /^(ckpt-\d{12,16})\/([0-9a-f]{32})\//;
const NONCE_RE = /^[0-9a-f]{32}$/;
const QUARANTINE_RECORD_RE = /^quarantine\/(ckpt-\d{12,16})-[^/]+\/record\.json$/;

export interface ObjectStorageOptions {
  /** Key prefix of the store inside the bucket (default none); ends with `/` when set. */
  prefix?: string | undefined;
  /** The bucket's URL with a trailing `/` (`s3://<bucket>/`); the store's location is it plus the prefix. */
  bucketUrl: string;
}

export class ObjectStorage<C extends ObjectClient = ObjectClient> implements CheckpointStorage {
  readonly capabilities: StorageCapabilities = { atomicRename: false, exclusiveCreate: true, dirSync: false, rangedRead: true };
  readonly location: string;
  readonly lease: LeaseBackend;
  readonly records: RecordStore;
  readonly epochs: EpochBackend;
  private readonly prefix: string;

  constructor(
    /** This process's connection (the twin's call log tells tests how many calls a save makes). */
    readonly client: C,
    options: ObjectStorageOptions,
  ) {
    this.prefix = options.prefix ?? '';
    if (this.prefix !== '' && !this.prefix.endsWith('/')) throw new HoldfastError('HF_INVALID_ARG', `object storage prefix must end with "/", got ${JSON.stringify(this.prefix)}`);
    this.location = `${options.bucketUrl}${this.prefix}`;
    this.lease = objectLeaseBackend(this.client, this.key('lease/record'), this.location);
    this.records = objectRecordStore(this.client, this.key('records/'));
    this.epochs = objectEpochBackend(this.client, this);
  }

  /** The bucket key of a store-relative key. */
  key(relative: string): string {
    return this.prefix + relative;
  }

  private relative(key: string): string {
    return key.slice(this.prefix.length);
  }

  async list(): Promise<number[]> {
    const steps: number[] = [];
    for (const o of await this.client.list(this.key('ckpt-'))) {
      const m = MANIFEST_KEY_RE.exec(this.relative(o.key));
      if (m !== null && Number.isSafeInteger(Number(m[1]))) steps.push(Number(m[1]));
    }
    return steps.sort((a, b) => a - b);
  }

  async open(step: number): Promise<CheckpointReader | undefined> {
    const manifest = await this.client.get(this.key(manifestKey(step)));
    if (manifest === undefined) return undefined;
    return objectCheckpointReader(this.client, step, manifest.bytes, (rel) => this.key(rel), this.location);
  }

  async begin(step: number, options: BeginOptions): Promise<CheckpointWriter> {
    if ((await this.client.head(this.key(manifestKey(step)))) !== undefined) throw stepExists(step, this.location + manifestKey(step));
    return new ObjectCheckpointWriter(this.client, step, options, (rel) => this.key(rel), this.location);
  }

  async joinAttempt(step: number, nonce: string): Promise<AttemptArea> {
    if (!NONCE_RE.test(nonce)) throw new HoldfastError('HF_INVALID_ARG', `attempt nonce must be 32 lowercase hex characters, got ${JSON.stringify(nonce)}`);
    return objectAttemptArea(this.client, this, step, nonce);
  }

  async quarantine(step: number, reason: string): Promise<QuarantineResult> {
    const mKey = this.key(manifestKey(step));
    const found = await this.client.get(mKey);
    if (found === undefined) return { movedTo: undefined, note: 'already moved by another process' };
    const nonce = nonceOf(found.bytes);
    // A manifest too damaged to name its attempt keeps every attempt of its step.
    const attempts = nonce !== undefined ? [attemptPrefix(step, nonce)] : await this.attemptsOf(step);
    const id = `quarantine/${quarantineName(step, newNonce())}/`;
    const record = { step, reason, at: new Date().toISOString(), attempts };
    await this.client.put(this.key(`${id}record.json`), new TextEncoder().encode(JSON.stringify(record) + '\n'));
    await this.client.put(this.key(`${id}${MANIFEST_FILE}`), found.bytes);
    if (!(await this.client.deleteIfMatch(mKey, found.info.version))) {
      // Another process un-committed it first (or it was committed again): our copy is a duplicate.
      await this.deleteQuietly([`${id}record.json`, `${id}${MANIFEST_FILE}`]);
      return { movedTo: undefined, note: 'already moved by another process' };
    }
    const movedTo = this.location + id;
    await this.audit('quarantine', { step, reason, movedTo });
    return { movedTo };
  }

  async remove(step: number, lease?: WriterLease): Promise<void> {
    const mKey = this.key(manifestKey(step));
    const found = await this.client.get(mKey);
    if (found === undefined) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} at ${this.location}${manifestKey(step)}`, { path: this.location + manifestKey(step), data: { step } });
    await lease?.assertCurrent();
    if (!(await this.client.deleteIfMatch(mKey, found.info.version))) {
      throw new HoldfastError('HF_BUSY', `checkpoint ${step} changed while being removed (quarantined or committed again by another process); nothing deleted`, { path: this.location + manifestKey(step), data: { step } });
    }
    // Un-committed: its objects are garbage now. Left over after a crash, sweep finds them.
    const nonce = nonceOf(found.bytes);
    if (nonce === undefined) return;
    for (const o of await this.client.list(this.key(attemptPrefix(step, nonce)))) await this.client.delete(o.key);
  }

  async sweep(options: SweepOptions): Promise<SweepResult> {
    const now = this.client.now();
    const objects = await this.client.list(this.key('ckpt-'));
    const kept = await this.keptAttempts(objects.map((o) => this.relative(o.key)));
    const newest = new Map<string, { keys: string[]; lastModified: number }>();
    for (const o of objects) {
      const m = ATTEMPT_KEY_RE.exec(this.relative(o.key));
      if (m === null) continue;
      const prefix = m[0];
      if (kept.has(prefix) || kept.has(`${m[1]}/*`)) continue;
      const at = newest.get(prefix) ?? { keys: [], lastModified: 0 };
      at.keys.push(o.key);
      at.lastModified = Math.max(at.lastModified, o.lastModified);
      newest.set(prefix, at);
    }
    const removed: string[] = [];
    for (const [prefix, { keys, lastModified }] of newest) {
      if (now - lastModified < options.graceMs) continue;
      // Asked again just before deleting: an attempt that committed since the manifests were read is kept.
      if (await this.isCommittedAttempt(prefix)) continue;
      for (const k of keys) await this.client.delete(k);
      removed.push(this.location + prefix);
    }
    removed.push(...(await this.abortIncompleteUploads(now, options.graceMs)));
    if (removed.length > 0) await this.audit('gc-staging', { removed });
    return { removed, quarantined: [] };
  }

  /**
   * Multipart uploads under `ckpt-` begun longer than the grace period ago and never completed
   * (a writer killed mid-upload, or a begin retried after its response was lost). Aborting one
   * frees its parts and never touches a completed object, even one under the same key.
   */
  private async abortIncompleteUploads(now: number, graceMs: number): Promise<string[]> {
    if (this.client.incompleteUploads === undefined || this.client.abortUpload === undefined) return [];
    const aborted: string[] = [];
    for (const u of await this.client.incompleteUploads(this.key('ckpt-'))) {
      if (now - u.initiated < graceMs) continue;
      await this.client.abortUpload(u.key, u.uploadId);
      aborted.push(`${this.location}${this.relative(u.key)} (incomplete multipart upload ${u.uploadId})`);
    }
    return aborted;
  }

  /** Whether the step's manifest, read now, names the attempt `ckpt-<step>/<nonce>/` (or cannot say which it names). */
  private async isCommittedAttempt(prefix: string): Promise<boolean> {
    const [dir, nonce] = prefix.split('/');
    const got = await this.client.get(this.key(`${dir}/${MANIFEST_FILE}`));
    if (got === undefined) return false;
    const named = nonceOf(got.bytes);
    return named === undefined || named === nonce;
  }

  /** One object per line, under a unique key: S3 has no append. Best effort, never throws. */
  async audit(action: AuditAction, details: Record<string, unknown>): Promise<void> {
    try {
      await this.client.put(this.key(`audit/${compactTimestamp()}-${newNonce()}.json`), auditLine(action, details));
    } catch {
      // An audit line is not worth failing a save or restore over.
    }
  }

  /**
   * Attempt prefixes sweep must keep: those named by a committed manifest or a quarantine record.
   * `ckpt-<step>/*` keeps every attempt of a step whose manifest or record names none readably.
   */
  private async keptAttempts(relativeKeys: string[]): Promise<Set<string>> {
    const kept = new Set<string>();
    for (const rel of relativeKeys) {
      const m = MANIFEST_KEY_RE.exec(rel);
      if (m === null) continue;
      const got = await this.client.get(this.key(rel));
      const nonce = got === undefined ? undefined : nonceOf(got.bytes);
      kept.add(nonce !== undefined ? `${checkpointDirName(Number(m[1]))}/${nonce}/` : `${checkpointDirName(Number(m[1]))}/*`);
    }
    for (const o of await this.client.list(this.key('quarantine/'))) {
      const m = QUARANTINE_RECORD_RE.exec(this.relative(o.key));
      if (m === null) continue;
      const attempts = attemptsOfRecord((await this.client.get(o.key))?.bytes);
      if (attempts === undefined) kept.add(`${m[1]}/*`);
      else for (const a of attempts) kept.add(a);
    }
    return kept;
  }

  private async attemptsOf(step: number): Promise<string[]> {
    const prefixes = new Set<string>();
    for (const o of await this.client.list(this.key(`${checkpointDirName(step)}/`))) {
      const m = ATTEMPT_KEY_RE.exec(this.relative(o.key));
      if (m !== null) prefixes.add(m[0]);
    }
    return [...prefixes];
  }

  private async deleteQuietly(relativeKeys: string[]): Promise<void> {
    for (const rel of relativeKeys) await this.client.delete(this.key(rel)).catch(() => undefined);
  }
}

function manifestKey(step: number): string {
  return `${checkpointDirName(step)}/${MANIFEST_FILE}`;
}

function attemptPrefix(step: number, nonce: string): string {
  return `${checkpointDirName(step)}/${nonce}/`;
}

function stepExists(step: number, where: string, cause?: unknown): HoldfastError {
  return new HoldfastError('HF_STEP_EXISTS', `step ${step} already exists at ${where}: a committed checkpoint is never overwritten`, { path: where, data: { step }, cause });
}

/** The nonce a manifest names, read leniently (verification judges the rest); undefined when unreadable. */
function nonceOf(manifest: Uint8Array): string | undefined {
  try {
    const doc = JSON.parse(new TextDecoder().decode(manifest)) as { nonce?: unknown };
    return typeof doc.nonce === 'string' && NONCE_RE.test(doc.nonce) ? doc.nonce : undefined;
  } catch {
    return undefined;
  }
}

function attemptsOfRecord(bytes: Uint8Array | undefined): string[] | undefined {
  if (bytes === undefined) return undefined;
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as { attempts?: unknown };
    return Array.isArray(doc.attempts) && doc.attempts.every((a) => typeof a === 'string') ? (doc.attempts as string[]) : undefined;
  } catch {
    return undefined;
  }
}


/** A committed checkpoint: the manifest as read at open, and the objects of the attempt it names. */
function objectCheckpointReader(client: ObjectClient, step: number, manifest: Uint8Array, key: (rel: string) => string, location: string): CheckpointReader {
  const nonce = nonceOf(manifest);
  /** The store-relative key of a name, or undefined when the manifest names no attempt. */
  const relKey = (name: string): string | undefined => (name === MANIFEST_FILE ? manifestKey(step) : nonce === undefined ? undefined : `${attemptPrefix(step, nonce)}${name}`);
  const locate = (name: string): string => location + (relKey(name) ?? `${checkpointDirName(step)}/(no attempt)/${name}`);
  const missing = (name: string): HoldfastError => new HoldfastError('HF_NOT_FOUND', `${locate(name)}: no such object`, { path: locate(name) });
  const getWhole = async (name: string): Promise<Uint8Array> => {
    if (name === MANIFEST_FILE) return manifest;
    const rel = relKey(name);
    const got = rel === undefined ? undefined : await client.get(key(rel));
    if (got === undefined) throw missing(name);
    return got.bytes;
  };
  return {
    step,
    location: location + `${checkpointDirName(step)}/`,
    locate,
    statFile: async (name): Promise<StoredFileInfo | undefined> => {
      if (name === MANIFEST_FILE) return { kind: 'file', sizeBytes: manifest.byteLength };
      const rel = relKey(name);
      const info = rel === undefined ? undefined : await client.head(key(rel));
      return info === undefined ? undefined : { kind: 'file', sizeBytes: info.sizeBytes };
    },
    readSmallFile: async (name, maxBytes) => (await getWhole(name)).subarray(0, maxBytes),
    readRange: async (name, offset, into) => {
      const rel = relKey(name);
      const got = name === MANIFEST_FILE ? manifest.subarray(offset, offset + into.byteLength) : rel === undefined ? undefined : await client.getRange(key(rel), offset, into.byteLength);
      if (got === undefined) throw missing(name);
      into.set(got);
      return got.byteLength;
    },
    // Ranged GETs of one chunk each, in parallel, every chunk checked as it arrives (object-chunked-read.ts).
    readHashed: async (name, expectedSizeBytes, options): Promise<HashedRead> => {
      const rel = relKey(name);
      if (name === MANIFEST_FILE || rel === undefined) throw missing(name);
      return readObjectChunked(client, key(rel), locate(name), expectedSizeBytes, options);
    },
  };
}

/** One attempt: objects under `ckpt-<step>/<nonce>/`, then the exclusive manifest PUT. */
class ObjectCheckpointWriter implements CheckpointWriter {
  readonly nonce: string;
  readonly location: string;
  private readonly written = new Set<string>();
  /** The manifest PUT was sent: the step may be ours even if the PUT seemed to fail. */
  private manifestSent: Uint8Array | undefined;

  constructor(
    private readonly client: ObjectClient,
    readonly step: number,
    private readonly options: BeginOptions,
    private readonly key: (rel: string) => string,
    private readonly storeLocation: string,
  ) {
    this.nonce = options.nonce;
    this.location = `${storeLocation}${checkpointDirName(step)}/`;
  }

  private dataKey(name: string): string {
    return this.key(`${attemptPrefix(this.step, this.nonce)}${name}`);
  }

  async writeFile(name: string, parts: readonly Uint8Array[], options: FileWriteOptions): Promise<WrittenFile> {
    // An upload sends each part's checksum with it: records are sealed before the first byte goes.
    const stored = options.seal === undefined ? parts : await sealRecords(options.runtime.ciphers, options.seal, parts);
    const sink = await this.createFile(name);
    try {
      for (const part of stored) await sink.write(part);
      const written = await sink.close();
      return options.seal === undefined ? written : { ...written, sealed: true };
    } catch (e) {
      await sink.abort();
      throw e;
    }
  }

  /**
   * An upload: the object appears complete at close or not at all. Hashed as it is sent, in parts of
   * the chunk size, so each part's checksum is the manifest's digest of that chunk.
   */
  createFile(name: string): Promise<BlobSink> {
    const hash = new ChunkedSha256(DEFAULT_CHUNK_BYTES, false);
    const upload = this.client.upload(this.dataKey(name), { partBytes: DEFAULT_CHUNK_BYTES, partSha256: (i) => hash.completedChunk(i) });
    let sizeBytes = 0;
    return Promise.resolve({
      write: async (chunk: Uint8Array) => {
        hash.update(chunk);
        sizeBytes += chunk.byteLength;
        await upload.write(chunk);
      },
      close: async (): Promise<WrittenFile> => {
        const { sha256Hex, hash: fileHash, chunks } = hash.digest(); // completes the last chunk, which the last part needs
        await upload.close();
        this.written.add(name);
        return { sizeBytes, sha256Hex, hash: fileHash, chunks: chunks!, ioMethod: 'buffered' };
      },
      abort: () => upload.abort(),
    });
  }

  async commit(manifest: Uint8Array, sha256Sums: Uint8Array): Promise<void> {
    await this.client.put(this.dataKey(SHA256SUMS_FILE), sha256Sums);
    this.written.add(SHA256SUMS_FILE);
    await this.assertAttemptIntact();
    await this.options.lease?.assertCurrent();
    const mKey = this.key(manifestKey(this.step));
    this.manifestSent = manifest;
    let created: boolean;
    try {
      created = await this.client.putIfAbsent(mKey, manifest);
    } catch (e) {
      // The response was lost: the manifest there decides. Ours (same bytes: our nonce, our hash) is a commit.
      const there = await this.client.get(mKey).catch(() => {
        throw e;
      });
      if (there === undefined) throw e;
      if (sameBytes(there.bytes, manifest)) return;
      throw stepExists(this.step, this.storeLocation + manifestKey(this.step), e);
    }
    if (created) return;
    const there = await this.client.get(mKey);
    if (there !== undefined && sameBytes(there.bytes, manifest)) return; // our own earlier PUT, retried
    throw stepExists(this.step, this.storeLocation + manifestKey(this.step));
  }

  /**
   * Never deletes an object a committed manifest may name: after a manifest PUT of unknown outcome,
   * a manifest that is ours is un-committed first (the save is reported failed, so it must not stay
   * visible), and when that cannot be settled everything is left for sweep.
   */
  async abandon(): Promise<void> {
    try {
      if (this.manifestSent !== undefined) {
        const mKey = this.key(manifestKey(this.step));
        const there = await this.client.get(mKey);
        if (there !== undefined && sameBytes(there.bytes, this.manifestSent) && !(await this.client.deleteIfMatch(mKey, there.info.version))) return;
      }
      for (const name of this.written) await this.client.delete(this.dataKey(name));
    } catch {
      // Left as garbage: no manifest names it (or one that does is settled by readers), and sweep removes it.
    }
  }

  /** A gc by a process that took our lease over may have swept our objects: never commit a torn attempt. */
  private async assertAttemptIntact(): Promise<void> {
    const present = new Set((await this.client.list(this.dataKey(''))).map((o) => o.key));
    const lost = [...this.written].filter((name) => !present.has(this.dataKey(name)));
    if (lost.length > 0) {
      throw new HoldfastError('HF_ABORTED', `save of step ${this.step} abandoned: ${lost.length} of its objects (${lost.slice(0, 3).join(', ')}) were removed before the commit (gc by another process?)`, {
        path: this.storeLocation + attemptPrefix(this.step, this.nonce),
        data: { step: this.step, lost },
      });
    }
  }
}

/** Records as objects under `records/`: a PUT replaces an object whole, so no temporary is needed. */
function objectRecordStore(client: ObjectClient, prefix: string): RecordStore {
  const key = (name: string): string => {
    assertValidRecordName(name);
    return prefix + name;
  };
  return {
    list: async () => (await client.list(prefix)).map((o) => o.key.slice(prefix.length)).filter((name) => !name.includes('/')),
    read: async (name) => (await client.get(key(name)))?.bytes,
    write: async (name, bytes) => client.put(key(name), bytes),
    remove: async (name) => client.delete(key(name)),
  };
}

/**
 * The lease record as one object. Retire is GET then a DELETE conditional on the version read
 * (S3: `If-Match` on the ETag), so of several processes retiring one record exactly one gets it.
 */
function objectLeaseBackend(client: ObjectClient, key: string, storeLocation: string): LeaseBackend {
  return {
    location: storeLocation + 'lease/record',
    read: async () => (await client.get(key))?.bytes,
    createExclusive: (record) => client.putIfAbsent(key, record),
    retire: async () => {
      const got = await client.get(key);
      if (got === undefined) return undefined;
      return (await client.deleteIfMatch(key, got.info.version)) ? got.bytes : undefined;
    },
  };
}
