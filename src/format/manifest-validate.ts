/**
 * The schema check of a manifest v1 (manifest-types.ts), written by hand so
 * each refusal says which field, what was expected and what was found. It
 * runs on the output of the strict JSON parser (or an in-memory manifest
 * about to be sealed) and returns the same object typed as `Manifest`.
 * Policy: `format` must be "holdfast"; `version` is "<major>.<minor>" and only
 * major 1 is read (a newer major gets "newer than this build reads", since
 * its fields may mean something else). Unknown fields are an error at every
 * level, in every 1.x: a verifier that skipped a field it does not
 * understand (say a future "encryption") would report a checkpoint as good
 * while misreading it. So a writer adding a field must bump the major;
 * extension data belongs in `state`. All sizes, ranks, steps and offsets
 * must be safe integers (JSON above 2^53 silently loses precision).
 */
import { DTYPES, elementBytes, isDType, type DType } from './dtype.js';
import { FieldChecker, describeFound } from './field-checks.js';
import { checkJsonValue } from './json-value.js';
import { STATE_MAX_DEPTH } from './limits.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest } from './manifest-types.js';
import { duplicatePathProblem, relativePathProblem } from './relative-path.js';
import { hashProblem } from './sha256.js';
import { tilingProblem } from './slab-tiling.js';

const SUPPORTED_MAJOR_VERSION = Number(MANIFEST_VERSION.split('.')[0]);
const TOP_FIELDS = ['format', 'version', 'step', 'nonce', 'createdAt', 'files', 'tensors', 'state', 'world', 'provenance', 'parent', 'manifestHash'];
const FILE_FIELDS = ['path', 'size', 'hash', 'rank', 'kind'];
const FILE_KINDS = ['shard', 'file'] as const;
const TENSOR_FIELDS = ['dtype', 'shape', 'slabs'];
const SLAB_FIELDS = ['file', 'byteRange', 'offset', 'shape'];
const NONCE = /^[0-9a-f]{32}$/;
const VERSION = /^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$/;

interface FileInfo {
  size: number;
  kind: (typeof FILE_KINDS)[number];
}

function checkerFor(path: string): FieldChecker {
  return new FieldChecker(`manifest ${path}`, path);
}

/** The gate every reader passes first: a Holdfast manifest of a major version this build reads. */
export function assertReadableManifestVersion(doc: unknown, path: string): void {
  const c = checkerFor(path);
  const top = c.object(doc, '');
  if (top.format !== MANIFEST_FORMAT) c.fail('format', `not a Holdfast manifest: expected "${MANIFEST_FORMAT}", found ${describeFound(top.format)}`);
  const version = c.string(top.version, 'version');
  const m = VERSION.exec(version);
  if (m === null) c.expected('version', 'a version "<major>.<minor>" such as "1.0"', version);
  const major = Number(m![1]);
  if (major > SUPPORTED_MAJOR_VERSION) {
    c.fail('version', `manifest version ${version} is newer than this build reads (${SUPPORTED_MAJOR_VERSION}.x); upgrade Holdfast to read it`);
  }
  if (major < SUPPORTED_MAJOR_VERSION) c.fail('version', `manifest version ${version} is older than this build reads (${SUPPORTED_MAJOR_VERSION}.x)`);
}

export function validateManifest(x: unknown, path: string): Manifest {
  assertReadableManifestVersion(x, path);
  const c = checkerFor(path);
  const top = x as Record<string, unknown>;
  c.keys(top, '', TOP_FIELDS, [], ` (this build reads the fields of manifest version ${MANIFEST_VERSION}; a new field needs a new major version)`);
  c.safeInt(top.step, 'step');
  if (typeof top.nonce !== 'string' || !NONCE.test(top.nonce)) c.expected('nonce', '32 lowercase hex characters', top.nonce);
  c.string(top.createdAt, 'createdAt');
  const files = checkFiles(c, top.files);
  checkTensors(c, top.tensors, files);
  checkJsonValue(c, top.state, 'state', STATE_MAX_DEPTH);
  const world = c.object(top.world, 'world');
  c.keys(world, 'world', ['size']);
  c.safeInt(world.size, 'world.size', 1);
  checkProvenance(c, top.provenance);
  if (top.parent !== null) c.safeInt(top.parent, 'parent');
  checkHash(c, top.manifestHash, 'manifestHash');
  return x as Manifest;
}

function checkHash(c: FieldChecker, v: unknown, where: string): void {
  const problem = hashProblem(v);
  if (problem !== undefined) c.fail(where, problem);
}

function checkFiles(c: FieldChecker, v: unknown): Map<string, FileInfo> {
  const files = new Map<string, FileInfo>();
  c.array(v, 'files').forEach((item, i) => {
    const where = `files[${i}]`;
    const f = c.object(item, where);
    c.keys(f, where, FILE_FIELDS);
    const path = c.string(f.path, `${where}.path`);
    const problem = relativePathProblem(path);
    if (problem !== undefined) c.fail(`${where}.path`, `${JSON.stringify(path)} is not a safe relative path: ${problem}`);
    const size = c.safeInt(f.size, `${where}.size`);
    checkHash(c, f.hash, `${where}.hash`);
    c.safeInt(f.rank, `${where}.rank`);
    const kind = c.oneOf(f.kind, `${where}.kind`, FILE_KINDS);
    files.set(path, { size, kind });
  });
  const duplicate = duplicatePathProblem((v as Array<{ path: string }>).map((f) => f.path));
  if (duplicate !== undefined) c.fail('files', `duplicate paths: ${duplicate}`);
  return files;
}

function checkTensors(c: FieldChecker, v: unknown, files: Map<string, FileInfo>): void {
  const tensors = c.object(v, 'tensors');
  // Object.keys: own keys only, so a "__proto__" tensor is checked like any other name.
  for (const name of Object.keys(tensors)) {
    const where = `tensors[${JSON.stringify(name)}]`;
    if (name === '' || name === '__metadata__') c.fail(where, 'tensor name must be non-empty and not "__metadata__" (reserved by safetensors)');
    const t = c.object(tensors[name], where);
    c.keys(t, where, TENSOR_FIELDS);
    if (!isDType(t.dtype)) c.fail(`${where}.dtype`, `unsupported dtype ${describeFound(t.dtype)}; this build reads ${DTYPES.join(', ')}`);
    const shape = c.shape(t.shape, `${where}.shape`);
    const slabs = c.array(t.slabs, `${where}.slabs`).map((s, i) => checkSlab(c, s, `${where}.slabs[${i}]`, t.dtype as DType, shape, files));
    const problem = tilingProblem(shape, slabs);
    if (problem !== undefined) c.fail(`${where}.slabs`, `slabs do not tile the global shape [${shape.join(', ')}] exactly: ${problem}`);
  }
}

interface CheckedSlab {
  offset: number[];
  shape: number[];
}

function checkSlab(c: FieldChecker, v: unknown, where: string, dtype: DType, globalShape: number[], files: Map<string, FileInfo>): CheckedSlab {
  const s = c.object(v, where);
  c.keys(s, where, SLAB_FIELDS);
  const file = c.string(s.file, `${where}.file`);
  const info = files.get(file);
  if (info === undefined) c.fail(`${where}.file`, `${JSON.stringify(file)} is not listed in files`);
  if (info.kind !== 'shard') c.fail(`${where}.file`, `${JSON.stringify(file)} is of kind "${info.kind}", expected "shard"`);
  const [begin, end] = c.range(s.byteRange, `${where}.byteRange`);
  if (end > info.size) c.fail(`${where}.byteRange`, `[${begin}, ${end}] runs past the end of ${JSON.stringify(file)} (${info.size} bytes)`);
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
  const expectedBytes = shape.reduce((n, d) => n * d, 1) * elementBytes(dtype);
  if (end - begin !== expectedBytes) {
    c.fail(`${where}.byteRange`, `[${begin}, ${end}] spans ${end - begin} bytes, expected ${expectedBytes} for ${dtype} × [${shape.join(', ')}]`);
  }
  return { offset, shape };
}

function checkProvenance(c: FieldChecker, v: unknown): void {
  const p = c.object(v, 'provenance');
  c.keys(p, 'provenance', ['library', 'host', 'user', 'pid'], ['gitCommit', 'configHash']);
  for (const key of ['library', 'host', 'user']) c.string(p[key], `provenance.${key}`);
  c.safeInt(p.pid, 'provenance.pid');
  for (const key of ['gitCommit', 'configHash']) {
    // undefined is "absent": JSON.stringify and canonicalJson both omit it.
    if (p[key] !== undefined) c.string(p[key], `provenance.${key}`);
  }
}
