/**
 * Integrity check of one checkpoint (DESIGN §8.2). A failed check is a value
 * (`FileProblem`), not an exception: callers decide whether to report,
 * quarantine or roll back. Order of checks per file: exists and is a regular
 * file (lstat, so a symlink cannot redirect us), size equals the manifest's
 * (before any byte is hashed), at level `full` the SHA-256 of each chunk
 * (2.0: the first that differs names its index and byte range) and of the
 * whole file, both from the one read, then the shard's own
 * header must agree with the manifest and carry this checkpoint's step,
 * rank and nonce (catches a shard copied in from another checkpoint).
 */
import { HoldfastError, isHoldfastError } from '../errors.js';
import type { ChunkDigests, Manifest, ManifestFile } from '../format/manifest-types.js';
import { META_NONCE, META_RANK, META_STEP, storedSlabShape } from '../format/manifest-types.js';
import { parseManifest } from '../format/manifest.js';
import { signatureProblem, type VerifyKey } from '../format/manifest-signature.js';
import { MANIFEST_MAX_BYTES } from '../format/limits.js';
import { MANIFEST_FILE, SHA256SUMS_FILE } from '../format/names.js';
import { encodeSha256Sums } from '../format/sha256sums.js';
import { parseHash, sha256Hex } from '../format/sha256.js';
import { needsWholeFileHash } from '../format/chunk-list-hash.js';
import { LENGTH_PREFIX_BYTES, parseShardHeader, readHeaderLength, type ShardHeader } from '../format/safetensors.js';
import type { IoRuntime } from '../io/io-runtime.js';
import type { HashedRead } from '../io/read-file-hashed.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import type { FileProblem, VerifyLevel } from '../format/vocabulary.js';
import type { CheckpointReader, CheckpointStorage, StoredFileInfo } from '../storage/checkpoint-storage.js';
import { resolveSources } from './source-reader.js';
import { describeEntryType } from '../fs/file-system.js';
import { planRestoreInto, type RestoreDestinations, type RestoreIntoPlan } from './restore-into.js';
import { checkpointOpener, openSpec, openStoredRecords, storedRangeFor, wrongKey, type CheckpointOpener, type Decryption } from './decrypt-file.js';

/** Files read and hashed at once, largest first (see `mapConcurrent`); problems are still reported in manifest order. */
const FILES_IN_FLIGHT = 2;

export interface VerifyOptions {
  level: VerifyLevel;
  /** Hashing workers and buffers of the store. */
  io: IoRuntime;
  /** Keep every file's bytes (restore reads and verifies in one pass). */
  keepBytes: boolean;
  /** Stop at the first problem (restore) instead of listing them all (verify). */
  stopAtFirst: boolean;
  /** Keys of which one must have signed the manifest; none: signatures are not checked. */
  verifyKeys?: readonly VerifyKey[] | undefined;
  /** Copy the tensors into these arrays of the caller's as they are read (checked against the manifest first). */
  into?: RestoreDestinations | undefined;
  /** Where the checkpoints an incremental checkpoint keeps files from are opened (without it, such files are missing). */
  sources?: CheckpointStorage | undefined;
  /**
   * The keys of encrypted checkpoints. Needed to restore one (HF_KEY names the missing key);
   * without them an encrypted checkpoint is verified on its stored bytes alone (no header check).
   */
  decryption?: Decryption | undefined;
}

export interface CheckpointCheck {
  ok: boolean;
  problems: FileProblem[];
  manifest?: Manifest;
  bytesByFile: Map<string, Uint8Array>;
  /** With `into`: the plan that filled the caller's arrays. */
  into?: RestoreIntoPlan;
  /** Reads the checkpoint's files where they live (an incremental checkpoint's kept files in their source). */
  reader: CheckpointReader;
}

export async function verifyCheckpoint(own: CheckpointReader, options: VerifyOptions): Promise<CheckpointCheck> {
  const bytesByFile = new Map<string, Uint8Array>();
  const manifestOrProblem = await loadManifest(own);
  if ('reason' in manifestOrProblem) return { ok: false, problems: [manifestOrProblem], bytesByFile, reader: own };
  const manifest = manifestOrProblem;
  // Before any data is read: a manifest rewritten without the key is not worth hashing gigabytes for.
  const unsigned = manifestSignatureProblem(own, manifest, options.verifyKeys);
  if (unsigned !== undefined) return { ok: false, problems: [unsigned], manifest, bytesByFile, reader: own };
  // Refuses destinations that do not fit before any data byte is read.
  const plan = options.into === undefined ? undefined : planRestoreInto(manifest, options.into, own.location);
  // A missing or other key is HF_KEY here, before any data byte is read: never a quarantine.
  const opener = checkpointOpener(manifest, options.decryption, own.location, options.keepBytes || plan !== undefined);
  const { reader, problems: unreachable } = await resolveSources(own, manifest, options.sources);
  if (unreachable.length > 0 && options.stopAtFirst) return { ok: false, problems: unreachable.slice(0, 1), manifest, bytesByFile, reader };
  const checked = await mapConcurrent(
    manifest.files.filter((f) => !unreachable.some((p) => p.file === f.path)),
    FILES_IN_FLIGHT,
    (file) => vanishedAsMissing(reader, file.path, () => checkFile(reader, manifest, file, options, bytesByFile, plan?.deliverFor(file.path), opener)),
    { stopWhen: (problem) => problem !== undefined && options.stopAtFirst, sizeOf: (file) => file.size },
  );
  const problems = [...unreachable, ...checked.filter((p): p is FileProblem => p !== undefined)];
  if (problems.length === 0 || !options.stopAtFirst) {
    const sums = await vanishedAsMissing(own, SHA256SUMS_FILE, () => checkSha256Sums(own, manifest));
    if (sums !== undefined) problems.push(sums);
  }
  const check: CheckpointCheck = { ok: problems.length === 0, problems: options.stopAtFirst ? problems.slice(0, 1) : problems, manifest, bytesByFile, reader };
  if (plan !== undefined) check.into = plan;
  return check;
}

/**
 * SHA256SUMS is derived from the manifest, but users run `sha256sum -c` on it, so it must not
 * silently disagree: it has to be byte-for-byte what the manifest's file list encodes.
 */
async function checkSha256Sums(reader: CheckpointReader, manifest: Manifest): Promise<FileProblem | undefined> {
  const p = reader.locate(SHA256SUMS_FILE);
  const expected = encodeSha256Sums(manifest.files);
  const st = await reader.statFile(SHA256SUMS_FILE);
  if (st === undefined) return { file: SHA256SUMS_FILE, reason: 'missing', message: `${p}: file is missing` };
  if (st.kind !== 'file') return notAFile(SHA256SUMS_FILE, p, st);
  if (st.sizeBytes !== expected.byteLength) return { file: SHA256SUMS_FILE, reason: 'size', message: `${p}: size is ${st.sizeBytes} bytes, the manifest's file list encodes to ${expected.byteLength}`, expected: expected.byteLength, actual: st.sizeBytes };
  const actual = await reader.readSmallFile(SHA256SUMS_FILE, expected.byteLength);
  if (!Buffer.from(actual).equals(Buffer.from(expected))) {
    return { file: SHA256SUMS_FILE, reason: 'hash', message: `${p}: does not match the manifest's file list (sha256 ${sha256Hex(actual)}, expected ${sha256Hex(expected)})` };
  }
  return undefined;
}

/** The checkpoint's validated manifest, or the problem that stops it being read (no data file is touched). */
export async function loadManifest(reader: CheckpointReader): Promise<Manifest | FileProblem> {
  const { step } = reader;
  const p = reader.locate(MANIFEST_FILE);
  const st = await reader.statFile(MANIFEST_FILE);
  if (st === undefined) return { file: MANIFEST_FILE, reason: 'missing', message: `${p}: manifest is missing` };
  if (st.kind !== 'file') return notAFile(MANIFEST_FILE, p, st);
  if (st.sizeBytes > MANIFEST_MAX_BYTES) {
    return { file: MANIFEST_FILE, reason: 'bad-manifest', message: `${p}: manifest is ${st.sizeBytes} bytes, over the ${MANIFEST_MAX_BYTES}-byte cap` };
  }
  try {
    const manifest = parseManifest(await reader.readSmallFile(MANIFEST_FILE, MANIFEST_MAX_BYTES), p);
    if (manifest.step !== step) {
      return { file: MANIFEST_FILE, reason: 'bad-manifest', message: `${p}: manifest says step ${manifest.step}, its directory says ${step}`, expected: step, actual: manifest.step };
    }
    return manifest;
  } catch (e) {
    if (!isHoldfastError(e) || e.code === 'HF_IO') throw e;
    return { file: MANIFEST_FILE, reason: 'bad-manifest', message: e.message };
  }
}

async function checkFile(
  reader: CheckpointReader,
  manifest: Manifest,
  file: ManifestFile,
  options: VerifyOptions,
  bytesByFile: Map<string, Uint8Array>,
  deliver: ((position: number, chunk: Uint8Array) => void) | undefined,
  opener: CheckpointOpener | undefined,
): Promise<FileProblem | undefined> {
  const p = reader.locate(file.path);
  const absent = await presenceProblem(reader, file);
  if (absent !== undefined) return absent;
  let bytes: Uint8Array | undefined;
  // With the key, an encrypted file's records are opened in the pass that hashes it: a restore gets
  // plaintext, and a verification authenticates every record.
  const decrypt = opener === undefined || file.encrypted === undefined ? undefined : openSpec(opener, file);
  // A restore needs the bytes whatever the level; level `sizes` reads them without comparing a hash.
  if (options.level === 'full' || options.keepBytes || deliver !== undefined) {
    const full = options.level === 'full';
    const read = await reader.readHashed(file.path, file.size, {
      keep: deliver === undefined && options.keepBytes,
      runtime: options.io,
      chunks: full ? file.chunks : undefined,
      wholeFile: needsWholeFileHash(file, p),
      deliver,
      decrypt,
    });
    if (read.sizeBytes !== file.size) return sizeProblem(p, file, read.sizeBytes);
    if (full && file.chunks !== undefined) {
      const problem = chunkProblem(p, file, file.chunks, read.chunks);
      if (problem !== undefined) return problem;
    }
    const expected = parseHash(file.hash, p).hex;
    if (full && read.sha256Hex !== expected) {
      return { file: file.path, reason: 'hash', message: `${p}: SHA-256 mismatch: recorded ${expected}, computed ${read.sha256Hex}`, expected, actual: read.sha256Hex };
    }
    if (decrypt !== undefined) {
      const problem = recordsProblem(opener!, file, read, full);
      if (problem !== undefined) return problem;
    }
    bytes = read.bytes;
    if (bytes !== undefined && options.keepBytes) bytesByFile.set(file.path, bytes);
  }
  if (file.kind !== 'shard') return undefined;
  // Without the key an encrypted shard's header cannot be read: its stored bytes were checked, that is all.
  if (file.encrypted !== undefined && opener === undefined) return undefined;
  return checkShardHeader(reader, p, manifest, file, bytes, opener, options.level === 'full');
}

/**
 * Whether the records of a read that opened them all authenticated. Once the file's digests matched,
 * a record that does not is the key's fault (HF_KEY, thrown: never a quarantine); at level `sizes`
 * nothing vouched for the stored bytes, so it is a damaged file like any other.
 */
function recordsProblem(opener: CheckpointOpener, file: ManifestFile, read: HashedRead, digestsChecked: boolean): FileProblem | undefined {
  if (read.decrypted !== true) throw new HoldfastError('HF_IO', `${opener.location}: the reader of ${file.path} did not open its records though asked to`, { path: opener.location });
  if (read.badRecord === undefined) return undefined;
  if (digestsChecked) throw wrongKey(opener, file, read.badRecord);
  return { file: file.path, reason: 'hash', message: `${opener.location}: ${file.path} record ${read.badRecord} does not authenticate (damaged, or another key; verify at level full to tell which)` };
}

/** The first chunk whose digest differs from the manifest's (a reader that stopped there ends its list with it). */
function chunkProblem(p: string, file: ManifestFile, expected: ChunkDigests, computed: ChunkDigests | undefined): FileProblem | undefined {
  for (let index = 0; index < expected.sha256.length; index++) {
    const want = expected.sha256[index]!;
    const got = computed?.bytes === expected.bytes ? computed.sha256[index] : undefined;
    if (got === want) continue;
    const byteRange: [number, number] = [index * expected.bytes, Math.min((index + 1) * expected.bytes, file.size)];
    return {
      file: file.path,
      reason: 'hash',
      message: `${p}: chunk ${index} (bytes ${byteRange[0]}..${byteRange[1]}) SHA-256 mismatch: recorded ${want}, computed ${got ?? '(not computed)'}`,
      expected: want,
      actual: got ?? '',
      chunk: { index, byteRange },
    };
  }
  return undefined;
}

/** With keys configured: the manifest must carry a good signature by one of them (manifest-signature.ts). */
export function manifestSignatureProblem(reader: CheckpointReader, manifest: Manifest, keys: readonly VerifyKey[] | undefined): FileProblem | undefined {
  const problem = keys?.length ? signatureProblem(manifest, keys) : undefined;
  return problem === undefined ? undefined : { file: MANIFEST_FILE, reason: 'signature', message: `${reader.locate(MANIFEST_FILE)}: ${problem}` };
}

/** Whether `file` is there as the manifest records it: present, a regular file, of its recorded size (no byte read). */
export async function presenceProblem(reader: CheckpointReader, file: ManifestFile): Promise<FileProblem | undefined> {
  const p = reader.locate(file.path);
  const st = await reader.statFile(file.path);
  if (st === undefined) return { file: file.path, reason: 'missing', message: `${p}: file is missing` };
  if (st.kind !== 'file') return notAFile(file.path, p, st);
  if (st.sizeBytes !== file.size) return sizeProblem(p, file, st.sizeBytes);
  return undefined;
}

function sizeProblem(p: string, file: ManifestFile, actual: number): FileProblem {
  return { file: file.path, reason: 'size', message: `${p}: size is ${actual} bytes, manifest records ${file.size}`, expected: file.size, actual };
}

async function checkShardHeader(
  reader: CheckpointReader,
  p: string,
  manifest: Manifest,
  file: ManifestFile,
  bytes: Uint8Array | undefined,
  opener: CheckpointOpener | undefined,
  digestsChecked: boolean,
): Promise<FileProblem | undefined> {
  let header: ShardHeader;
  const size = file.encrypted?.plainSize ?? file.size;
  try {
    header = bytes !== undefined ? parseShardHeader(bytes, bytes.byteLength, p) : await readShardHeaderRanged(plainRangeReader(reader, file, opener), size, p);
  } catch (e) {
    if (!isHoldfastError(e) || e.code === 'HF_IO') throw e;
    // Records whose digests matched and still do not open: the key's fault, not the checkpoint's.
    if (e.code === 'HF_KEY' && digestsChecked) throw e;
    return { file: file.path, reason: 'bad-header', message: e.message };
  }
  // A file kept from an earlier checkpoint carries the header that checkpoint wrote.
  const writtenBy = file.source ?? manifest;
  const expectedMeta: [string, string][] = [[META_STEP, String(writtenBy.step)], [META_RANK, String(file.rank)], [META_NONCE, writtenBy.nonce]];
  for (const [key, want] of expectedMeta) {
    const got = header.metadata.get(key);
    if (got !== want) {
      return { file: file.path, reason: 'foreign-shard', message: `${p}: shard metadata ${key} is ${JSON.stringify(got)}, this checkpoint's is ${JSON.stringify(want)} (a shard from another checkpoint?)`, expected: want, actual: got ?? 'absent' };
    }
  }
  return compareHeaderWithManifest(p, manifest, file, header);
}

function compareHeaderWithManifest(p: string, manifest: Manifest, file: ManifestFile, header: ShardHeader): FileProblem | undefined {
  const expected = new Map<string, { dtype: string; shape: number[]; begin: number; end: number }>();
  for (const [name, t] of Object.entries(manifest.tensors)) {
    for (const slab of t.slabs) {
      if (slab.file === file.path) expected.set(name, { dtype: t.dtype, shape: storedSlabShape(slab), begin: slab.byteRange[0], end: slab.byteRange[1] });
    }
  }
  const bad = (message: string): FileProblem => ({ file: file.path, reason: 'bad-header', message: `${p}: ${message}` });
  if (header.tensors.size !== expected.size) return bad(`header lists ${header.tensors.size} tensors, manifest expects ${expected.size}`);
  for (const [name, want] of expected) {
    const got = header.tensors.get(name);
    if (got === undefined) return bad(`tensor "${name}" is in the manifest but not in the shard header`);
    const same = got.dtype === want.dtype && got.begin === want.begin && got.end === want.end && got.shape.length === want.shape.length && got.shape.every((d, i) => d === want.shape[i]);
    if (!same) {
      return bad(`tensor "${name}": header says ${got.dtype}[${got.shape.join(',')}] at ${got.begin}..${got.end}, manifest says ${want.dtype}[${want.shape.join(',')}] at ${want.begin}..${want.end}`);
    }
  }
  return undefined;
}

function notAFile(name: string, p: string, st: StoredFileInfo): FileProblem {
  return { file: name, reason: 'not-a-file', message: `${p}: is ${describeEntryType(st.kind)}, expected a regular file inside the checkpoint (symlinks are refused)` };
}

/** Reads up to `into.byteLength` plaintext bytes of a file at `offset`; returns bytes read. */
type PlainRangeRead = (offset: number, into: Uint8Array) => Promise<number>;

/**
 * A plain file's bytes as they are; an encrypted one's through its whole records, read and opened
 * (the header check runs after the file's digests matched, so a record that does not open is HF_KEY).
 */
function plainRangeReader(reader: CheckpointReader, file: ManifestFile, opener: CheckpointOpener | undefined): PlainRangeRead {
  if (file.encrypted === undefined || opener === undefined) return (offset, into) => reader.readRange(file.path, offset, into);
  return async (offset, into) => {
    const { stored, plain, records } = storedRangeFor(opener, file, offset, offset + into.byteLength);
    const bytes = new Uint8Array(stored[1] - stored[0]);
    let got = 0;
    while (got < bytes.byteLength) {
      const n = await reader.readRange(file.path, stored[0] + got, bytes.subarray(got));
      if (n === 0) break;
      got += n;
    }
    if (got < bytes.byteLength) return 0;
    const opened = await openStoredRecords(opener, file, records, bytes, stored[0]);
    const piece = opened.subarray(offset - plain[0], Math.min(offset - plain[0] + into.byteLength, opened.byteLength));
    into.set(piece);
    return piece.byteLength;
  };
}

/** The shard's header without its data: two ranged reads (length prefix, then the header itself). */
async function readShardHeaderRanged(read: PlainRangeRead, size: number, p: string): Promise<ShardHeader> {
  const lengthPrefix = new Uint8Array(LENGTH_PREFIX_BYTES);
  const got = await read(0, lengthPrefix);
  const headerBytes = readHeaderLength(lengthPrefix.subarray(0, got), size, p);
  const prefix = new Uint8Array(LENGTH_PREFIX_BYTES + headerBytes);
  prefix.set(lengthPrefix);
  const n = await read(LENGTH_PREFIX_BYTES, prefix.subarray(LENGTH_PREFIX_BYTES));
  return parseShardHeader(prefix.subarray(0, LENGTH_PREFIX_BYTES + n), size, p);
}

/** A file that disappears between its stat and its read (retention in another process) is missing, not an I/O failure. */
async function vanishedAsMissing(reader: CheckpointReader, name: string, check: () => Promise<FileProblem | undefined>): Promise<FileProblem | undefined> {
  try {
    return await check();
  } catch (e) {
    if (!isHoldfastError(e, 'HF_NOT_FOUND')) throw e;
    return { file: name, reason: 'missing', message: `${reader.locate(name)}: file vanished while being verified` };
  }
}
