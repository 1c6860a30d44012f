import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DTYPES, byteLengthOf } from '../../src/format/dtype.js';
import { SAFETENSORS_HEADER_MAX_BYTES } from '../../src/format/limits.js';
import {
  encodeShardHeader,
  parseShardHeader,
  readShardHeader,
  type ShardEntry,
} from '../../src/format/safetensors.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { expectError, expectRejection } from './fixtures.js';

const PATH = '/store/ckpt-000000000007/r0000-p000.safetensors';

function entry(name: string, dtype: ShardEntry['dtype'], shape: number[]): ShardEntry {
  return { name, dtype, shape, byteLength: byteLengthOf(dtype, shape) };
}

/** A whole file: the encoded header followed by zeroed data. */
function encodeFile(entries: ShardEntry[], metadata: Record<string, string> = {}): Uint8Array {
  const h = encodeShardHeader(entries, metadata);
  const file = new Uint8Array(h.fileSize);
  file.set(h.bytes);
  return file;
}

/** A hand-made file: length prefix = the JSON's exact length (no padding), then `dataBytes` zeros. */
function rawFile(header: string | Uint8Array, dataBytes = 0, lengthOverride?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const file = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(file.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  file.set(json, 8);
  return file;
}

function parseRaw(header: string | Uint8Array, dataBytes = 0): unknown {
  const file = rawFile(header, dataBytes);
  return parseShardHeader(file, file.byteLength, PATH);
}

function tensorJson(dtype: string, shape: unknown, offsets: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ dtype, shape, data_offsets: offsets, ...extra });
}

describe('encodeShardHeader + parseShardHeader round trip', () => {
  const entries = [
    ...DTYPES.map((d, i) => entry(`t${i}.${d}`, d, [2, 3])),
    entry('empty', 'F32', [0]),
    entry('empty2d', 'BF16', [3, 0]),
    entry('scalar', 'I64', []),
    entry('scalar8', 'BOOL', []),
  ];
  const metadata = { 'holdfast.step': '7', 'holdfast.rank': '0', 'holdfast.nonce': 'ab'.repeat(16) };

  test('every dtype, empty and scalar tensors come back with absolute, contiguous ranges', () => {
    const h = encodeShardHeader(entries, metadata);
    const file = encodeFile(entries, metadata);
    const parsed = parseShardHeader(file, file.byteLength, PATH);
    assert.equal(parsed.dataStart, h.dataStart);
    assert.deepEqual(parsed.metadata, new Map(Object.entries(metadata)));
    assert.deepEqual([...parsed.tensors.keys()], entries.map((e) => e.name));
    entries.forEach((e, i) => {
      const t = parsed.tensors.get(e.name)!;
      assert.deepEqual({ dtype: t.dtype, shape: t.shape, begin: t.begin, end: t.end }, { dtype: e.dtype, shape: e.shape, begin: h.ranges[i]![0], end: h.ranges[i]![1] });
      assert.equal(t.end - t.begin, e.byteLength);
    });
    assert.equal(h.ranges[0]![0], h.dataStart);
    for (let i = 1; i < h.ranges.length; i++) assert.equal(h.ranges[i]![0], h.ranges[i - 1]![1]);
    assert.equal(h.fileSize, h.ranges.at(-1)![1]);
  });

  test('data starts at a multiple of 4096 and the header is padded with spaces', () => {
    const h = encodeShardHeader(entries, metadata);
    assert.equal(h.dataStart % 4096, 0);
    assert.equal(h.bytes.byteLength, h.dataStart);
    const length = new DataView(h.bytes.buffer).getBigUint64(0, true);
    assert.equal(Number(length), h.dataStart - 8);
    const text = new TextDecoder().decode(h.bytes.subarray(8));
    const json = text.trimEnd();
    assert.equal(text.slice(json.length), ' '.repeat(text.length - json.length));
    assert.ok(json.startsWith('{"__metadata__":'));
  });

  test('a header larger than one block rounds up to the next multiple; other alignments work', () => {
    const many = Array.from({ length: 200 }, (_, i) => entry(`layer.${i}.weight`, 'F16', [16, 16]));
    const h = encodeShardHeader(many, {});
    assert.ok(h.dataStart > 4096);
    assert.equal(h.dataStart % 4096, 0);
    const h64 = encodeShardHeader([entry('x', 'U8', [3])], {}, 64);
    assert.equal(h64.dataStart, 128, 'a 79-byte prefix + JSON rounds up to 128');
    assert.equal(h64.fileSize, 131);
    const h1 = encodeShardHeader([entry('x', 'U8', [3])], {}, 1);
    assert.equal(h1.dataStart, 8 + '{"__metadata__":{},"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}'.length);
  });

  test('integer-like tensor names keep their order against their data', () => {
    const e = [entry('b', 'U8', [1]), entry('10', 'U8', [2]), entry('2', 'U8', [3])];
    const file = encodeFile(e);
    const parsed = parseShardHeader(file, file.byteLength, PATH);
    assert.deepEqual([...parsed.tensors.keys()], ['b', '10', '2']);
    assert.equal(parsed.tensors.get('2')!.end, file.byteLength);
  });

  test('no tensors and no metadata is a valid empty shard', () => {
    const file = encodeFile([]);
    const parsed = parseShardHeader(file, file.byteLength, PATH);
    assert.equal(parsed.tensors.size, 0);
    assert.equal(parsed.dataStart, 4096);
  });

  test('a header written by another writer (unpadded, any key order) is read', () => {
    const header = `{"b":${tensorJson('F32', [1], [4, 8])},"__metadata__":{"format":"pt"},"a":${tensorJson('F32', [1], [0, 4])}}`;
    const file = rawFile(header, 8);
    const parsed = parseShardHeader(file, file.byteLength, PATH);
    assert.deepEqual([...parsed.tensors.keys()], ['a', 'b']);
    assert.equal(parsed.tensors.get('a')!.begin, 8 + header.length);
  });
});

describe('encodeShardHeader refuses bad entries', () => {
  test('duplicate, reserved or empty names, wrong byteLength, unknown dtype', () => {
    expectError(() => encodeShardHeader([entry('a', 'U8', [1]), entry('a', 'U8', [1])], {}), 'HF_INVALID_ARG', '"a" appears twice');
    expectError(() => encodeShardHeader([entry('__metadata__', 'U8', [1])], {}), 'HF_INVALID_ARG', 'reserved');
    expectError(() => encodeShardHeader([entry('', 'U8', [1])], {}), 'HF_INVALID_ARG', 'non-empty');
    expectError(() => encodeShardHeader([{ name: 'a', dtype: 'F32', shape: [2], byteLength: 4 }], {}), 'HF_INVALID_ARG', 'byteLength 4', '8 bytes');
    expectError(() => encodeShardHeader([{ name: 'a', dtype: 'F8' as never, shape: [2], byteLength: 2 }], {}), 'HF_INVALID_ARG', 'F8');
    expectError(() => encodeShardHeader([], { a: 1 as unknown as string }), 'HF_INVALID_ARG', 'must be a string');
  });
});

describe('parseShardHeader refuses bad files', () => {
  test('a file shorter than the 8-byte length', () => {
    expectError(() => parseShardHeader(new Uint8Array(5), 5, PATH), 'HF_CORRUPT', PATH, '5 bytes');
  });

  test('a header length larger than the file', () => {
    const file = rawFile('{}', 0, 1000n);
    expectError(() => parseShardHeader(file, file.byteLength, PATH), 'HF_CORRUPT', PATH, 'header length 1000', 'past the end');
  });

  test('a header length over the 100,000,000-byte cap, including 2^64 - 1 read as u64', () => {
    const big = rawFile('{}', 0, BigInt(SAFETENSORS_HEADER_MAX_BYTES) + 1n);
    expectError(() => parseShardHeader(big, 200_000_000, PATH), 'HF_FORMAT', PATH, '100000001', 'cap');
    const huge = rawFile('{}', 0, 2n ** 64n - 1n);
    expectError(() => parseShardHeader(huge, huge.byteLength, PATH), 'HF_FORMAT', PATH, '18446744073709551615');
  });

  test('a header that does not start with "{"', () => {
    expectError(() => parseRaw(' {}'), 'HF_FORMAT', PATH, 'start with "{"', '0x20');
    expectError(() => parseRaw('[]'), 'HF_FORMAT', PATH, '0x5b');
    expectError(() => parseRaw(''), 'HF_FORMAT', PATH, 'empty header');
  });

  test('a header that is not UTF-8', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"__metadata__":{"a":"'), 0xff, ...new TextEncoder().encode('"}}')]);
    expectError(() => parseRaw(bytes), 'HF_FORMAT', PATH, 'UTF-8');
  });

  test('a header that is not JSON, or not a JSON object', () => {
    expectError(() => parseRaw('{"a": }'), 'HF_FORMAT', PATH, 'line 1 column 7');
    expectError(() => parseRaw('{"a":1,}'), 'HF_FORMAT', PATH);
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [1], [0, 1])}} trailing`, 1), 'HF_FORMAT', PATH, 'after the JSON value');
  });

  test('duplicate tensor names (JSON.parse would keep the last)', () => {
    const t = tensorJson('U8', [1], [0, 1]);
    expectError(() => parseRaw(`{"a":${t},"a":${t}}`, 1), 'HF_FORMAT', PATH, 'duplicate key "a"');
  });

  test('__metadata__ that is not an object of strings', () => {
    expectError(() => parseRaw('{"__metadata__":{"step":7}}'), 'HF_FORMAT', PATH, '__metadata__["step"]', 'expected a string, found 7');
    expectError(() => parseRaw('{"__metadata__":["a"]}'), 'HF_FORMAT', PATH, 'expected an object');
  });

  test('an unsupported dtype, naming the supported ones', () => {
    expectError(() => parseRaw(`{"a":${tensorJson('F8_E4M3', [1], [0, 1])}}`, 1), 'HF_FORMAT', PATH, '"F8_E4M3"', 'F64, F32, F16, BF16');
  });

  test('negative, non-integer, non-array or overflowing shapes', () => {
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [-1], [0, 0])}}`), 'HF_FORMAT', PATH, 'shape[0]', 'found -1');
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [1.5], [0, 1])}}`, 1), 'HF_FORMAT', PATH, 'found 1.5');
    expectError(() => parseRaw(`{"a":${tensorJson('U8', 4, [0, 4])}}`, 4), 'HF_FORMAT', PATH, 'expected an array');
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [2 ** 30, 2 ** 30, 2 ** 30], [0, 1])}}`, 1), 'HF_FORMAT', PATH, '2^53');
  });

  test('a shape or offset not written as plain digits (another writer; strict readers refuse it)', () => {
    expectError(() => parseRaw('{"a":{"dtype":"U8","shape":[1e3],"data_offsets":[0,1000]}}', 1000), 'HF_FORMAT', PATH, 'number 1e3', 'expected 1000');
    expectError(() => parseRaw('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2.0]}}', 2), 'HF_FORMAT', PATH, 'number 2.0');
    expectError(() => parseRaw('{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}'), 'HF_FORMAT', PATH, 'number -0');
  });

  test('an offset beyond 2^53 is reported as written, not rounded', () => {
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [1], [0, 1]).replace('[0,1]', '[9007199254740993,9007199254740994]')}}`, 1), 'HF_FORMAT', PATH, '9007199254740993');
  });

  test('data_offsets that are not [begin, end] integers with end >= begin', () => {
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [0], [4, 3])}}`), 'HF_FORMAT', PATH, 'end >= begin');
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [1], [0, 1, 2])}}`, 1), 'HF_FORMAT', PATH, '[begin, end]');
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [1], ['0', 1])}}`, 1), 'HF_FORMAT', PATH, 'data_offsets[0]');
  });

  test('offsets that disagree with dtype × shape', () => {
    expectError(() => parseRaw(`{"a":${tensorJson('F32', [2, 2], [0, 12])}}`, 12), 'HF_FORMAT', PATH, 'spans 12 bytes, expected 16', 'F32 × [2, 2]');
  });

  test('overlapping tensors', () => {
    const h = `{"a":${tensorJson('U8', [8], [0, 8])},"b":${tensorJson('U8', [8], [4, 12])}}`;
    expectError(() => parseRaw(h, 12), 'HF_FORMAT', PATH, 'overlap', '"a"', '"b"');
  });

  test('a hole between tensors or before the first', () => {
    const gap = `{"a":${tensorJson('U8', [4], [0, 4])},"b":${tensorJson('U8', [4], [8, 12])}}`;
    expectError(() => parseRaw(gap, 12), 'HF_FORMAT', PATH, 'hole', '[4, 8)');
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [4], [4, 8])}}`, 8), 'HF_FORMAT', PATH, 'hole', '[0, 4)');
  });

  test('data running past the end of the file, or stopping before it', () => {
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [16], [0, 16])}}`, 8), 'HF_CORRUPT', PATH, 'past the end', '16 data bytes', 'has 8');
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [4], [0, 4])}}`, 8), 'HF_CORRUPT', PATH, 'before the end');
  });

  test('unknown or missing fields in a tensor entry', () => {
    expectError(() => parseRaw(`{"a":${tensorJson('U8', [1], [0, 1], { offset: 0 })}}`, 1), 'HF_FORMAT', PATH, 'unknown field "offset"');
    expectError(() => parseRaw('{"a":{"dtype":"U8","shape":[1]}}', 1), 'HF_FORMAT', PATH, 'missing field "data_offsets"');
  });

  test('a prefix shorter than the header it announces', () => {
    const file = encodeFile([entry('a', 'U8', [1])]);
    expectError(() => parseShardHeader(file.subarray(0, 100), file.byteLength, PATH), 'HF_CORRUPT', PATH, 'read 100 bytes');
  });
});

describe('readShardHeader', () => {
  const fs = new PosixFileSystem();
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-safetensors-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads the header of a real file, matching parseShardHeader of its bytes', async () => {
    const entries = [entry('w', 'F32', [3, 5]), entry('s', 'I64', [])];
    const file = encodeFile(entries, { 'holdfast.step': '1' });
    const p = join(dir, 'good.safetensors');
    await writeFile(p, file);
    const viaFs = await readShardHeader(fs, p);
    assert.deepEqual(viaFs, parseShardHeader(file, file.byteLength, p));
    assert.equal(viaFs.tensors.get('s')!.end, file.byteLength);
  });

  test('a truncated file is corrupt', async () => {
    const file = encodeFile([entry('w', 'F32', [1024])]);
    const p = join(dir, 'truncated.safetensors');
    await writeFile(p, file.subarray(0, 4096 + 100));
    await expectRejection(readShardHeader(fs, p), 'HF_CORRUPT', p, 'past the end');
    const q = join(dir, 'tiny.safetensors');
    await writeFile(q, new Uint8Array(3));
    await expectRejection(readShardHeader(fs, q), 'HF_CORRUPT', q, '3 bytes');
    const r = join(dir, 'cut-header.safetensors');
    await writeFile(r, file.subarray(0, 100));
    await expectRejection(readShardHeader(fs, r), 'HF_CORRUPT', r, 'header length 4088');
  });

  test('a directory is not a shard', async () => {
    const p = join(dir, 'a-directory');
    await mkdir(p);
    await expectRejection(readShardHeader(fs, p), 'HF_CORRUPT', p, 'regular file');
  });
});
