/**
 * Shard files are safetensors, so any safetensors reader can open them: an
 * 8-byte little-endian u64 header length N, N bytes of JSON header, then the
 * tensor data. Holdfast pads the header with spaces (0x20, which the format
 * allows) so data starts at a multiple of 4096 bytes, the alignment O_DIRECT
 * and page-cache-friendly reads want. Header offsets are relative to the data
 * start; this module returns ABSOLUTE file offsets so callers never redo the
 * arithmetic. `parseShardHeader` trusts nothing (anchors-reliability §5):
 * size and truncation problems (file shorter than its header or data says,
 * bytes after the last tensor) are `HF_CORRUPT`, since a torn or truncated
 * write produces them; a header this build cannot read (over the 100 MB cap,
 * not `{`-led UTF-8 JSON, duplicate keys, a number not written as plain
 * digits (`1e3`, `2.0`), wrong types, unknown dtype or field,
 * offsets that disagree with dtype × shape, overlap or leave holes) is
 * `HF_FORMAT`. Every message names the file and says expected vs found.
 */
import { corrupt, formatError, invalidArg } from '../errors.js';
import { describeEntryType, type FileSystem } from '../fs/file-system.js';
import { DTYPES, byteLengthOf, elementBytes, isDType, type DType } from './dtype.js';
import { FieldChecker, describeFound } from './field-checks.js';
import { SAFETENSORS_HEADER_MAX_BYTES } from './limits.js';
import { decodeUtf8Strict, parseStrictJson } from './strict-json.js';

/** Bytes of the little-endian u64 header length that opens every file. */
export const LENGTH_PREFIX_BYTES = 8;
export const DEFAULT_ALIGN_BYTES = 4096;
const METADATA_KEY = '__metadata__';
const TENSOR_FIELDS = ['dtype', 'shape', 'data_offsets'] as const;

export interface ShardEntry {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
}

interface EncodedShardHeader {
  /** Length prefix + space-padded JSON; its length is a multiple of the alignment. */
  bytes: Uint8Array;
  /** Absolute offset of the first data byte (= bytes.length). */
  dataStart: number;
  /** Absolute [begin, end) of each entry's data in the file, in entry order. */
  ranges: [number, number][];
  fileSize: number;
}

interface ShardTensorInfo {
  dtype: DType;
  shape: number[];
  /** Absolute file offsets. */
  begin: number;
  end: number;
}

export interface ShardHeader {
  metadata: Map<string, string>;
  /** In data order (ascending offset), which is entry order for files Holdfast wrote. */
  tensors: Map<string, ShardTensorInfo>;
  dataStart: number;
}

export function encodeShardHeader(entries: ShardEntry[], metadata: Record<string, string>, alignBytes = DEFAULT_ALIGN_BYTES): EncodedShardHeader {
  if (!Number.isSafeInteger(alignBytes) || alignBytes < 1) throw invalidArg(`alignBytes must be a positive integer, got ${alignBytes}`);
  checkEntries(entries);
  // Built by hand, not JSON.stringify of one object: JS objects list integer-like
  // keys ("0", "1") first, which would reorder tensors against their data.
  const parts = [`{${JSON.stringify(METADATA_KEY)}:${metadataJson(metadata)}`];
  const relative: [number, number][] = [];
  let cursor = 0;
  for (const e of entries) {
    const end = cursor + e.byteLength;
    if (!Number.isSafeInteger(end)) throw invalidArg('shard data is larger than 2^53 bytes');
    parts.push(`,${JSON.stringify(e.name)}:${JSON.stringify({ dtype: e.dtype, shape: e.shape, data_offsets: [cursor, end] })}`);
    relative.push([cursor, end]);
    cursor = end;
  }
  parts.push('}');
  const json = new TextEncoder().encode(parts.join(''));
  const dataStart = Math.ceil((LENGTH_PREFIX_BYTES + json.byteLength) / alignBytes) * alignBytes;
  if (dataStart - LENGTH_PREFIX_BYTES > SAFETENSORS_HEADER_MAX_BYTES) {
    throw invalidArg(`shard header would be ${dataStart - 8} bytes, over the ${SAFETENSORS_HEADER_MAX_BYTES}-byte cap readers enforce`);
  }
  const bytes = new Uint8Array(dataStart).fill(0x20, LENGTH_PREFIX_BYTES);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(dataStart - LENGTH_PREFIX_BYTES), true);
  bytes.set(json, LENGTH_PREFIX_BYTES);
  const ranges = relative.map(([b, e]): [number, number] => [dataStart + b, dataStart + e]);
  return { bytes, dataStart, ranges, fileSize: dataStart + cursor };
}

function checkEntries(entries: ShardEntry[]): void {
  const seen = new Set<string>();
  for (const e of entries) {
    const problem = tensorNameProblem(e.name);
    if (problem !== undefined) throw invalidArg(`shard entry ${describeFound(e.name)}: ${problem}`);
    if (seen.has(e.name)) throw invalidArg(`shard entry ${JSON.stringify(e.name)} appears twice`);
    seen.add(e.name);
    if (!isDType(e.dtype)) {
      throw invalidArg(`shard entry ${JSON.stringify(e.name)}: unsupported dtype ${JSON.stringify(e.dtype)}; expected one of ${DTYPES.join(', ')}`);
    }
    const expected = byteLengthOf(e.dtype, e.shape);
    if (e.byteLength !== expected) {
      throw invalidArg(`shard entry ${JSON.stringify(e.name)}: byteLength ${e.byteLength}, but ${e.dtype} × [${e.shape.join(', ')}] is ${expected} bytes`);
    }
  }
}

/** Why `name` cannot name a tensor in a shard (and so in a manifest), or undefined when it can. */
export function tensorNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'a tensor name must be a non-empty string';
  if (name === METADATA_KEY) return `the tensor name ${METADATA_KEY} is reserved by safetensors`;
  return undefined;
}

function metadataJson(metadata: Record<string, string>): string {
  const members = Object.keys(metadata).map((key) => {
    const value = metadata[key];
    if (typeof value !== 'string') throw invalidArg(`shard metadata ${JSON.stringify(key)} must be a string (safetensors metadata is string → string)`);
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${members.join(',')}}`;
}

/** Reads and bounds-checks the u64 header length; returns N. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, path: string): number {
  const subject = `safetensors file ${path}`;
  if (fileSize < LENGTH_PREFIX_BYTES) throw corrupt(`${subject}: file is ${fileSize} bytes, shorter than the 8-byte header length`, { path });
  if (prefix.byteLength < LENGTH_PREFIX_BYTES) throw corrupt(`${subject}: read ${prefix.byteLength} bytes, expected the 8-byte header length`, { path });
  // u64, as the format defines it: reading it as a double or i64 would let 2^63+ wrap into a "valid" size.
  const length = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES).getBigUint64(0, true);
  const data = { headerBytes: length.toString(), fileSize };
  if (length > BigInt(SAFETENSORS_HEADER_MAX_BYTES)) throw formatError(`${subject}: header length ${length} bytes is over the ${SAFETENSORS_HEADER_MAX_BYTES}-byte cap`, { path, data });
  if (length > BigInt(fileSize - LENGTH_PREFIX_BYTES)) {
    const after = fileSize - LENGTH_PREFIX_BYTES;
    throw corrupt(`${subject}: header length ${length} bytes runs past the end of the file (${fileSize} bytes leave ${after} after the length)`, { path, data });
  }
  return Number(length);
}

export function parseShardHeader(prefix: Uint8Array, fileSize: number, path: string): ShardHeader {
  const headerBytes = readHeaderLength(prefix, fileSize, path);
  const dataStart = LENGTH_PREFIX_BYTES + headerBytes;
  if (prefix.byteLength < dataStart) throw corrupt(`safetensors file ${path}: read ${prefix.byteLength} bytes, expected the ${dataStart}-byte header`, { path });
  const json = prefix.subarray(LENGTH_PREFIX_BYTES, dataStart);
  if (json[0] !== 0x7b) {
    const found = json.byteLength === 0 ? 'an empty header' : `byte 0x${json[0]!.toString(16).padStart(2, '0')}`;
    throw formatError(`safetensors header ${path}: expected the header to start with "{", found ${found}`, { path });
  }
  // A header holds only integers; `1e3` or `2.0` for a size is a writer we do not know.
  const doc = parseStrictJson(decodeUtf8Strict(json, 'safetensors header', path), 'safetensors header', path, { canonicalNumbers: true });
  const c = new FieldChecker(`safetensors header ${path}`, path);
  const top = c.object(doc, '');
  const metadata = new Map<string, string>();
  const raw: RawTensor[] = [];
  for (const key of Object.keys(top)) {
    if (key === METADATA_KEY) readMetadata(c, top[key], metadata);
    else raw.push(readTensor(c, key, top[key]));
  }
  return { metadata, tensors: layOut(c, raw, dataStart, fileSize), dataStart };
}

interface RawTensor {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function readMetadata(c: FieldChecker, v: unknown, into: Map<string, string>): void {
  const obj = c.object(v, METADATA_KEY);
  for (const key of Object.keys(obj)) into.set(key, c.string(obj[key], `${METADATA_KEY}[${JSON.stringify(key)}]`));
}

function readTensor(c: FieldChecker, name: string, v: unknown): RawTensor {
  const where = `tensor ${JSON.stringify(name)}`;
  const entry = c.object(v, where);
  c.keys(entry, where, TENSOR_FIELDS);
  const dtype = entry.dtype;
  if (!isDType(dtype)) c.fail(`${where} dtype`, `unsupported dtype ${describeFound(dtype)}; this build reads ${DTYPES.join(', ')}`);
  const shape = c.shape(entry.shape, `${where} shape`);
  const [begin, end] = c.range(entry.data_offsets, `${where} data_offsets`);
  const expectedBytes = shape.reduce((n, d) => n * d, 1) * elementBytes(dtype);
  if (end - begin !== expectedBytes) {
    c.fail(`${where} data_offsets`, `[${begin}, ${end}] spans ${end - begin} bytes, expected ${expectedBytes} for ${dtype} × [${shape.join(', ')}]`);
  }
  return { name, dtype, shape, begin, end };
}

/** Tensors must tile the data exactly: sorted by offset, contiguous from 0 to EOF. */
function layOut(c: FieldChecker, raw: RawTensor[], dataStart: number, fileSize: number): Map<string, ShardTensorInfo> {
  const sorted = [...raw].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const tensors = new Map<string, ShardTensorInfo>();
  let cursor = 0;
  let previous: RawTensor | undefined;
  for (const t of sorted) {
    if (t.begin < cursor) c.fail('data_offsets', `tensors ${describeRange(previous!)} and ${describeRange(t)} overlap`);
    if (t.begin > cursor) c.fail('data_offsets', `hole: data bytes [${cursor}, ${t.begin}) belong to no tensor (expected ${describeRange(t)} to begin at ${cursor})`);
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, begin: dataStart + t.begin, end: dataStart + t.end });
    cursor = t.end;
    previous = t;
  }
  const dataBytes = fileSize - dataStart;
  if (cursor !== dataBytes) {
    const problem = cursor > dataBytes ? 'runs past the end of the file' : 'stops before the end of the file';
    const found = `header covers ${cursor} data bytes (to byte ${dataStart + cursor}), file has ${dataBytes} after the header (${fileSize} bytes)`;
    throw corrupt(`safetensors file ${c.path}: tensor data ${problem}: ${found}`, { path: c.path, data: { expectedFileSize: dataStart + cursor, fileSize } });
  }
  return tensors;
}

function describeRange(t: RawTensor): string {
  return `${JSON.stringify(t.name)} [${t.begin}, ${t.end}]`;
}

/** Reads only the header: the length prefix, then exactly N bytes (never the data). */
export async function readShardHeader(fs: FileSystem, path: string): Promise<ShardHeader> {
  // lstat first: a directory or special file is no shard, and saying so beats an open error.
  const entry = await fs.stat(path);
  if (entry.type !== 'file') throw corrupt(`safetensors file ${path}: expected a regular file, found ${describeEntryType(entry.type)}`, { path });
  const fh = await fs.open(path, 'read');
  try {
    const { type, sizeBytes } = await fh.stat();
    if (type !== 'file') throw corrupt(`safetensors file ${path}: expected a regular file, found ${describeEntryType(type)}`, { path });
    const lengthPrefix = new Uint8Array(LENGTH_PREFIX_BYTES);
    const got = await fh.pread(lengthPrefix, 0);
    const headerBytes = readHeaderLength(lengthPrefix.subarray(0, got), sizeBytes, path);
    const prefix = new Uint8Array(LENGTH_PREFIX_BYTES + headerBytes);
    prefix.set(lengthPrefix);
    const n = await fh.pread(prefix.subarray(LENGTH_PREFIX_BYTES), LENGTH_PREFIX_BYTES);
    return parseShardHeader(prefix.subarray(0, LENGTH_PREFIX_BYTES + n), sizeBytes, path);
  } finally {
    await fh.close();
  }
}
