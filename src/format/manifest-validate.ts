/**
 * The schema check of a manifest (manifest-types.ts), written by hand so
 * each refusal says which field, what was expected and what was found. It
 * runs on the output of the strict JSON parser (or an in-memory manifest
 * about to be sealed) and returns the same object typed as `Manifest`.
 * Policy: `format` must be "holdfast"; `version` is "<major>.<minor>" and
 * majors 1 and 2 are read (a newer major gets "newer than this build reads",
 * since its fields may mean something else). Unknown fields are an error at
 * every level: a verifier that skipped a field it does not understand (say a
 * future "compression") would report a checkpoint as good while misreading
 * it. So a writer adding a field must bump the major; extension data belongs
 * in `state`. (Every 2.x field, `encryption` and `files[].encrypted` among
 * them, its optional `plainDigest`, and 2.1's `sha256-chunks:` file hashes
 * joined before any 2.x store left this repository.) A 1.x document must not
 * carry a 2.x field. All sizes, ranks, steps and offsets must be safe
 * integers (JSON above 2^53 silently loses precision).
 */
import { DTYPES, elementBytes, isDType, type DType } from './dtype.js';
import { FieldChecker, describeFound } from './field-checks.js';
import { checkJsonValue } from './json-value.js';
import { STATE_MAX_DEPTH } from './limits.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, READABLE_MAJOR_VERSIONS, type ChunkDigests, type Manifest } from './manifest-types.js';
import { CHUNK_LIST_ALGORITHM, chunkListHash } from './chunk-list-hash.js';
import { duplicatePathProblem, relativePathProblem } from './relative-path.js';
import { hashProblem, type HashAlgorithm } from './sha256.js';
import { KEY_ID } from './manifest-signature.js';
import { tilingProblem, type SlabExtent } from './slab-tiling.js';
import { ENCRYPTION_ALG, MAX_RECORDS, PLAIN_DIGEST_ALG, encryptedSize, recordCount } from './chunk-cipher.js';

/** The fields of each major version: [required, optional]. */
const FIELDS = {
  1: {
    top: [['format', 'version', 'step', 'nonce', 'createdAt', 'files', 'tensors', 'state', 'world', 'provenance', 'parent', 'manifestHash'], []],
    file: [['path', 'size', 'hash', 'rank', 'kind'], []],
  },
  2: {
    top: [
      ['format', 'version', 'step', 'nonce', 'createdAt', 'files', 'tensors', 'state', 'world', 'provenance', 'parent', 'manifestHash'],
      ['epoch', 'rankState', 'timing', 'signature', 'encryption'],
    ],
    file: [['path', 'size', 'hash', 'rank', 'kind', 'chunks'], ['source', 'encrypted']],
  },
} as const satisfies Record<number, Record<string, readonly [readonly string[], readonly string[]]>>;
type Major = keyof typeof FIELDS;

const BOX_SLAB_FIELDS = ['file', 'byteRange', 'offset', 'shape'];
const FLAT_SLAB_FIELDS = ['file', 'byteRange', 'flat'];
const FILE_KINDS = ['shard', 'file'] as const;
const TENSOR_FIELDS = ['dtype', 'shape', 'slabs'];
const NONCE = /^[0-9a-f]{32}$/;
const NONCE_PREFIX = /^[0-9a-f]{16}$/;
const HEX_DIGEST = /^[0-9a-f]{64}$/;
const PLAIN_DIGEST = new RegExp(`^${PLAIN_DIGEST_ALG}:[0-9a-f]{64}$`);
const VERSION = /^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$/;
/** Chunk sizes: whole 4096-byte pages (the O_DIRECT grid), at most 1 GiB. */
const CHUNK_ALIGN = 4096;
const CHUNK_MAX = 1024 ** 3;
const SIGNATURE_ALGS = ['hmac-sha256', 'ed25519'] as const;

interface FileInfo {
  size: number;
  kind: (typeof FILE_KINDS)[number];
}

function checkerFor(path: string): FieldChecker {
  return new FieldChecker(`manifest ${path}`, path);
}

/** The gate every reader passes first: a Holdfast manifest of a major version this build reads. Returns the major. */
export function assertReadableManifestVersion(doc: unknown, path: string): Major {
  const c = checkerFor(path);
  const top = c.object(doc, '');
  if (top.format !== MANIFEST_FORMAT) c.fail('format', `not a Holdfast manifest: expected "${MANIFEST_FORMAT}", found ${describeFound(top.format)}`);
  const version = c.string(top.version, 'version');
  const m = VERSION.exec(version);
  if (m === null) c.expected('version', 'a version "<major>.<minor>" such as "2.0"', version);
  const major = Number(m![1]);
  const newest = Math.max(...READABLE_MAJOR_VERSIONS);
  if (major > newest) c.fail('version', `manifest version ${version} is newer than this build reads (${READABLE_MAJOR_VERSIONS.join('.x, ')}.x); upgrade Holdfast to read it`);
  if (!READABLE_MAJOR_VERSIONS.includes(major)) c.fail('version', `manifest version ${version} is older than this build reads (${READABLE_MAJOR_VERSIONS.join('.x, ')}.x)`);
  return major as Major;
}

export function validateManifest(x: unknown, path: string): Manifest {
  const major = assertReadableManifestVersion(x, path);
  const c = checkerFor(path);
  const top = x as Record<string, unknown>;
  const [required, optional] = FIELDS[major].top;
  c.keys(top, '', required, optional, ` (manifest version ${String(top.version)} has no such field; this build writes ${MANIFEST_VERSION})`);
  c.safeInt(top.step, 'step');
  checkNonce(c, top.nonce, 'nonce');
  c.string(top.createdAt, 'createdAt');
  const encryption = top.encryption === undefined ? undefined : checkEncryption(c, top.encryption);
  const files = checkFiles(c, top.files, major, encryption, hasChunkListHashes(String(top.version)));
  checkTensors(c, top.tensors, files, major);
  checkJsonValue(c, top.state, 'state', STATE_MAX_DEPTH);
  const world = c.object(top.world, 'world');
  c.keys(world, 'world', ['size']);
  const worldSize = c.safeInt(world.size, 'world.size', 1);
  checkProvenance(c, top.provenance, major);
  if (top.parent !== null) c.safeInt(top.parent, 'parent');
  if (top.epoch !== undefined) c.safeInt(top.epoch, 'epoch');
  if (top.rankState !== undefined) checkRankState(c, top.rankState, worldSize);
  if (top.timing !== undefined) checkTiming(c, top.timing);
  if (top.signature !== undefined) checkSignature(c, top.signature);
  checkHash(c, top.manifestHash, 'manifestHash', ['sha256']);
  return x as Manifest;
}

function checkHash(c: FieldChecker, v: unknown, where: string, algorithms: readonly HashAlgorithm[]): void {
  const problem = hashProblem(v, algorithms);
  if (problem !== undefined) c.fail(where, problem);
}

/** 2.1 records a file of more than one chunk by the hash of its chunk digests (`chunk-list-hash.ts`). */
function hasChunkListHashes(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major! > 2 || (major === 2 && minor! >= 1);
}

function checkChunkListHash(c: FieldChecker, hash: string, chunks: ChunkDigests | undefined, where: string): void {
  if (chunks === undefined || chunks.sha256.length < 2) c.fail(where, `${CHUNK_LIST_ALGORITHM} records a file of more than one chunk, and this one has ${chunks?.sha256.length ?? 'no'} chunk digests`);
  const expected = chunkListHash(chunks!.sha256);
  if (hash !== expected) c.fail(where, `${hash} is not the hash of the file's chunk digests (${expected})`);
}

function checkNonce(c: FieldChecker, v: unknown, where: string): void {
  if (typeof v !== 'string' || !NONCE.test(v)) c.expected(where, '32 lowercase hex characters', v);
}

/** The record size of an encrypted checkpoint: a chunk size as the chunk digests' is. */
function checkEncryption(c: FieldChecker, v: unknown): { chunkBytes: number } {
  const e = c.object(v, 'encryption');
  c.keys(e, 'encryption', ['alg', 'keyId', 'chunkBytes']);
  c.oneOf(e.alg, 'encryption.alg', [ENCRYPTION_ALG] as const);
  if (!KEY_ID.test(c.string(e.keyId, 'encryption.keyId'))) c.expected('encryption.keyId', '1 to 128 of A-Z a-z 0-9 . _ : -', e.keyId);
  const chunkBytes = c.safeInt(e.chunkBytes, 'encryption.chunkBytes');
  if (chunkBytes < CHUNK_ALIGN || chunkBytes % CHUNK_ALIGN !== 0 || chunkBytes > CHUNK_MAX) c.expected('encryption.chunkBytes', `a multiple of ${CHUNK_ALIGN} up to ${CHUNK_MAX}`, chunkBytes);
  return { chunkBytes };
}

/** A file's `encrypted`, present exactly when the checkpoint is encrypted; returns the plaintext size. */
function checkFileEncryption(c: FieldChecker, v: unknown, where: string, size: number, encryption: { chunkBytes: number } | undefined): number {
  if (encryption === undefined) {
    if (v !== undefined) c.fail(`${where}.encrypted`, 'present, but the manifest has no "encryption"');
    return size;
  }
  if (v === undefined) c.fail(where, 'the checkpoint is encrypted, and this file has no "encrypted" (every file must be encrypted)');
  const e = c.object(v, `${where}.encrypted`);
  c.keys(e, `${where}.encrypted`, ['plainSize', 'noncePrefix'], ['plainDigest']);
  const plainSize = c.safeInt(e.plainSize, `${where}.encrypted.plainSize`);
  if (typeof e.noncePrefix !== 'string' || !NONCE_PREFIX.test(e.noncePrefix)) c.expected(`${where}.encrypted.noncePrefix`, '16 lowercase hex characters', e.noncePrefix);
  if (e.plainDigest !== undefined && (typeof e.plainDigest !== 'string' || !PLAIN_DIGEST.test(e.plainDigest))) c.expected(`${where}.encrypted.plainDigest`, `"${PLAIN_DIGEST_ALG}:" and 64 lowercase hex digits`, e.plainDigest);
  if (recordCount(plainSize, encryption.chunkBytes) > MAX_RECORDS) c.fail(`${where}.encrypted.plainSize`, `${plainSize} bytes need more than ${MAX_RECORDS} records`);
  const stored = encryptedSize(plainSize, encryption.chunkBytes);
  if (stored !== size) c.fail(`${where}.size`, `${size} bytes, but ${plainSize} plaintext bytes in records of ${encryption.chunkBytes} are stored as ${stored}`);
  return plainSize;
}

function checkFiles(c: FieldChecker, v: unknown, major: Major, encryption: { chunkBytes: number } | undefined, chunkListHashes: boolean): Map<string, FileInfo> {
  const algorithms: HashAlgorithm[] = chunkListHashes ? ['sha256', CHUNK_LIST_ALGORITHM] : ['sha256'];
  const files = new Map<string, FileInfo>();
  const [required, optional] = FIELDS[major].file;
  c.array(v, 'files').forEach((item, i) => {
    const where = `files[${i}]`;
    const f = c.object(item, where);
    c.keys(f, where, required, optional);
    const path = c.string(f.path, `${where}.path`);
    const problem = relativePathProblem(path);
    if (problem !== undefined) c.fail(`${where}.path`, `${JSON.stringify(path)} is not a safe relative path: ${problem}`);
    const size = c.safeInt(f.size, `${where}.size`);
    checkHash(c, f.hash, `${where}.hash`, algorithms);
    c.safeInt(f.rank, `${where}.rank`);
    const kind = c.oneOf(f.kind, `${where}.kind`, FILE_KINDS);
    if (f.chunks !== undefined) checkChunks(c, f.chunks, size, `${where}.chunks`);
    if ((f.hash as string).startsWith(`${CHUNK_LIST_ALGORITHM}:`)) checkChunkListHash(c, f.hash as string, f.chunks as ChunkDigests | undefined, `${where}.hash`);
    if (f.source !== undefined) checkSource(c, f.source, `${where}.source`);
    // Slab byte ranges are offsets into the plaintext.
    files.set(path, { size: checkFileEncryption(c, f.encrypted, where, size, encryption), kind });
  });
  const duplicate = duplicatePathProblem((v as Array<{ path: string }>).map((f) => f.path));
  if (duplicate !== undefined) c.fail('files', `duplicate paths: ${duplicate}`);
  return files;
}

function checkChunks(c: FieldChecker, v: unknown, size: number, where: string): void {
  const chunks = c.object(v, where);
  c.keys(chunks, where, ['bytes', 'sha256']);
  const bytes = c.safeInt(chunks.bytes, `${where}.bytes`);
  if (bytes < CHUNK_ALIGN || bytes % CHUNK_ALIGN !== 0 || bytes > CHUNK_MAX) c.expected(`${where}.bytes`, `a multiple of ${CHUNK_ALIGN} up to ${CHUNK_MAX}`, bytes);
  const digests = c.array(chunks.sha256, `${where}.sha256`);
  const count = Math.ceil(size / bytes);
  if (digests.length !== count) c.fail(`${where}.sha256`, `expected ${count} digests for ${size} bytes in chunks of ${bytes}, found ${digests.length}`);
  digests.forEach((d, i) => {
    if (typeof d !== 'string' || !HEX_DIGEST.test(d)) c.expected(`${where}.sha256[${i}]`, '64 lowercase hex digits', d);
  });
}

function checkSource(c: FieldChecker, v: unknown, where: string): void {
  const source = c.object(v, where);
  c.keys(source, where, ['step', 'nonce']);
  c.safeInt(source.step, `${where}.step`);
  checkNonce(c, source.nonce, `${where}.nonce`);
}

function checkTensors(c: FieldChecker, v: unknown, files: Map<string, FileInfo>, major: Major): void {
  const tensors = c.object(v, 'tensors');
  // Object.keys: own keys only, so a "__proto__" tensor is checked like any other name.
  for (const name of Object.keys(tensors)) {
    const where = `tensors[${JSON.stringify(name)}]`;
    if (name === '' || name === '__metadata__') c.fail(where, 'tensor name must be non-empty and not "__metadata__" (reserved by safetensors)');
    const t = c.object(tensors[name], where);
    c.keys(t, where, TENSOR_FIELDS);
    if (!isDType(t.dtype)) c.fail(`${where}.dtype`, `unsupported dtype ${describeFound(t.dtype)}; this build reads ${DTYPES.join(', ')}`);
    const shape = c.shape(t.shape, `${where}.shape`);
    const slabs = c
      .array(t.slabs, `${where}.slabs`)
      .map((s, i) => checkSlab(c, s, `${where}.slabs[${i}]`, { dtype: t.dtype as DType, shape }, files, major));
    if (slabs.some((s) => 'flat' in s) && slabs.some((s) => !('flat' in s))) c.fail(`${where}.slabs`, 'slabs must be all boxes (offset, shape) or all flat ranges, not both');
    const problem = tilingProblem(shape, slabs);
    if (problem !== undefined) c.fail(`${where}.slabs`, `slabs do not tile the global shape [${shape.join(', ')}] exactly: ${problem}`);
  }
}

interface GlobalTensor {
  dtype: DType;
  shape: number[];
}

function checkSlab(c: FieldChecker, v: unknown, where: string, tensor: GlobalTensor, files: Map<string, FileInfo>, major: Major): SlabExtent {
  const s = c.object(v, where);
  const flat = major >= 2 && Object.hasOwn(s, 'flat');
  c.keys(s, where, flat ? FLAT_SLAB_FIELDS : BOX_SLAB_FIELDS);
  const file = c.string(s.file, `${where}.file`);
  const info = files.get(file);
  if (info === undefined) c.fail(`${where}.file`, `${JSON.stringify(file)} is not listed in files`);
  if (info.kind !== 'shard') c.fail(`${where}.file`, `${JSON.stringify(file)} is of kind "${info.kind}", expected "shard"`);
  const [begin, end] = c.range(s.byteRange, `${where}.byteRange`);
  if (end > info.size) c.fail(`${where}.byteRange`, `[${begin}, ${end}] runs past the end of ${JSON.stringify(file)} (${info.size} bytes)`);
  const extent = flat ? checkFlatExtent(c, s, where, tensor.shape) : checkBoxExtent(c, s, where, tensor.shape);
  const elements = 'flat' in extent ? extent.flat[1] - extent.flat[0] : extent.shape.reduce((n, d) => n * d, 1);
  const expectedBytes = elements * elementBytes(tensor.dtype);
  if (end - begin !== expectedBytes) {
    c.fail(`${where}.byteRange`, `[${begin}, ${end}] spans ${end - begin} bytes, expected ${expectedBytes} for ${elements} ${tensor.dtype} elements`);
  }
  return extent;
}

function checkBoxExtent(c: FieldChecker, s: Record<string, unknown>, where: string, globalShape: number[]): SlabExtent {
  const shape = c.shape(s.shape, `${where}.shape`);
  const offset = c.array(s.offset, `${where}.offset`).map((d, i) => c.safeInt(d, `${where}.offset[${i}]`));
  const rank = globalShape.length;
  if (shape.length !== rank || offset.length !== rank) {
    c.fail(where, `offset and shape must have the tensor's rank ${rank}, found ${offset.length} and ${shape.length}`);
  }
  shape.forEach((d, i) => {
    if (offset[i]! + d > globalShape[i]!) {
      c.fail(where, `dimension ${i}: offset ${offset[i]} + shape ${d} exceeds the global size ${globalShape[i]}`);
    }
  });
  return { offset, shape };
}

function checkFlatExtent(c: FieldChecker, s: Record<string, unknown>, where: string, globalShape: number[]): SlabExtent {
  const flat = c.range(s.flat, `${where}.flat`);
  const count = globalShape.reduce((n, d) => n * d, 1);
  if (flat[1] > count) c.fail(`${where}.flat`, `[${flat[0]}, ${flat[1]}] runs past the tensor's ${count} elements`);
  return { flat };
}

function checkProvenance(c: FieldChecker, v: unknown, major: Major): void {
  const p = c.object(v, 'provenance');
  const optional = major >= 2 ? ['gitCommit', 'configHash', 'node', 'platform'] : ['gitCommit', 'configHash'];
  c.keys(p, 'provenance', ['library', 'host', 'user', 'pid'], optional);
  for (const key of ['library', 'host', 'user']) c.string(p[key], `provenance.${key}`);
  c.safeInt(p.pid, 'provenance.pid');
  for (const key of optional) {
    // undefined is "absent": JSON.stringify and canonicalJson both omit it.
    if (p[key] !== undefined) c.string(p[key], `provenance.${key}`);
  }
}

function checkRankState(c: FieldChecker, v: unknown, worldSize: number): void {
  const states = c.array(v, 'rankState');
  if (states.length !== worldSize) c.fail('rankState', `expected one entry per rank (world.size ${worldSize}), found ${states.length}`);
  states.forEach((s, i) => checkJsonValue(c, s, `rankState[${i}]`, STATE_MAX_DEPTH - 1));
}

function checkTiming(c: FieldChecker, v: unknown): void {
  const t = c.object(v, 'timing');
  c.keys(t, 'timing', ['pauseMs', 'writeMs']);
  for (const key of ['pauseMs', 'writeMs']) {
    const ms = t[key];
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) c.expected(`timing.${key}`, 'a non-negative number of milliseconds', ms);
  }
}

function checkSignature(c: FieldChecker, v: unknown): void {
  const s = c.object(v, 'signature');
  c.keys(s, 'signature', ['alg', 'keyId', 'value']);
  c.oneOf(s.alg, 'signature.alg', SIGNATURE_ALGS);
  if (!KEY_ID.test(c.string(s.keyId, 'signature.keyId'))) c.expected('signature.keyId', '1 to 128 of A-Z a-z 0-9 . _ : -', s.keyId);
  const value = c.string(s.value, 'signature.value');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) c.expected('signature.value', 'base64', value);
}
