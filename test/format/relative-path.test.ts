import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertNoDuplicatePaths, assertSafeRelativePath } from '../../src/format/relative-path.js';
import { expectError } from './fixtures.js';

const WHAT = 'manifest /s/ckpt-000000000001/manifest.json: files[0].path';

describe('assertSafeRelativePath', () => {
  test('accepts plain names and nested relative paths', () => {
    for (const p of ['r0000-p000.safetensors', 'a/b/c.bin', 'é/日本.txt', '..foo', 'a..b', '.hidden', 'x'.repeat(255), 'C', 'a/C:b']) {
      assert.doesNotThrow(() => assertSafeRelativePath(p, WHAT), p);
    }
  });

  const BAD: [string, string][] = [
    ['', 'empty'],
    ['/etc/passwd', 'absolute'],
    ['..', '".." segment'],
    ['a/../../b', '".." segment'],
    ['./a', '"." segment'],
    ['a/.', '"." segment'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['a\\b', 'backslash'],
    ['..\\x', 'backslash'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'control'],
    ['a\u007fb', 'control'],
    ['a\u0085b', 'control'],
    ['C:', 'drive letter'],
    ['c:/windows', 'drive letter'],
    ['a\ud800b', 'surrogate'],
    ['x'.repeat(256), '256 bytes'],
    ['a/' + 'é'.repeat(128), '256 bytes'],
  ];
  test('refuses each unsafe form as HF_FORMAT, saying why and naming the context', () => {
    for (const [p, why] of BAD) {
      const e = expectError(() => assertSafeRelativePath(p, WHAT), 'HF_FORMAT', WHAT, why);
      assert.equal(e.data.relativePath, p);
    }
  });
  test('uses the caller code for user input', () => {
    expectError(() => assertSafeRelativePath('/abs', 'export name', 'HF_INVALID_ARG'), 'HF_INVALID_ARG', 'export name');
  });
});

describe('assertNoDuplicatePaths', () => {
  test('accepts distinct names', () => {
    assert.doesNotThrow(() => assertNoDuplicatePaths(['a', 'b', 'c/d', 'c/e', 'ab/c', 'a.b'], WHAT));
  });
  test('refuses exact repeats, case variants and Unicode-form variants', () => {
    expectError(() => assertNoDuplicatePaths(['a', 'b', 'a'], WHAT), 'HF_FORMAT', WHAT, '"a" is listed twice');
    expectError(() => assertNoDuplicatePaths(['Model.bin', 'model.BIN'], WHAT), 'HF_FORMAT', 'differ only by case or Unicode form');
    expectError(() => assertNoDuplicatePaths(['caf\u00e9', 'cafe\u0301'], WHAT), 'HF_FORMAT', 'Unicode form');
    expectError(() => assertNoDuplicatePaths(['dir/a', 'DIR/A'], WHAT), 'HF_FORMAT');
  });
  test('refuses a name used both as a file and as a directory, in either order', () => {
    expectError(() => assertNoDuplicatePaths(['a', 'a/b'], WHAT), 'HF_FORMAT', '"a" is a file');
    expectError(() => assertNoDuplicatePaths(['A/b', 'a'], WHAT), 'HF_FORMAT', '"a" is a file');
  });
  test('uses the caller code for user input', () => {
    expectError(() => assertNoDuplicatePaths(['x', 'x'], 'inputs', 'HF_INVALID_ARG'), 'HF_INVALID_ARG', 'inputs');
  });
});
