import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { formatHash, sha256Hex } from '../../src/format/sha256.js';
import { encodeSha256Sums } from '../../src/format/sha256sums.js';
import { expectError } from './fixtures.js';

const run = promisify(execFile);

async function hasSha256sum(): Promise<boolean> {
  try {
    await run('sha256sum', ['--version']);
    return true;
  } catch {
    return false;
  }
}

describe('encodeSha256Sums', () => {
  test('writes "<hex>  <path>" lines in input order', () => {
    const a = sha256Hex('a');
    const b = sha256Hex('b');
    const text = new TextDecoder().decode(encodeSha256Sums([{ path: 'z.bin', hash: formatHash(a) }, { path: 'd/a.bin', hash: formatHash(b) }]));
    assert.equal(text, `${a}  z.bin\n${b}  d/a.bin\n`);
    assert.equal(encodeSha256Sums([]).byteLength, 0);
  });

  test('refuses malformed hashes and unsafe paths as HF_INVALID_ARG', () => {
    expectError(() => encodeSha256Sums([{ path: 'a', hash: 'md5:00' }]), 'HF_INVALID_ARG', 'unsupported hash algorithm');
    expectError(() => encodeSha256Sums([{ path: 'a\nb', hash: formatHash(sha256Hex('')) }]), 'HF_INVALID_ARG', 'control');
  });

  test('is accepted by coreutils sha256sum -c', async (t) => {
    if (!(await hasSha256sum())) return t.skip('sha256sum not installed');
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-sums-'));
    try {
      const files = [
        { path: 'r0000-p000.safetensors', data: 'shard bytes' },
        { path: 'sub/é file.txt', data: 'x'.repeat(10_000) },
      ];
      await mkdir(join(dir, 'sub'));
      for (const f of files) await writeFile(join(dir, f.path), f.data);
      await writeFile(join(dir, 'SHA256SUMS'), encodeSha256Sums(files.map((f) => ({ path: f.path, hash: formatHash(sha256Hex(f.data)) }))));
      const { stdout } = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir });
      assert.equal(stdout, 'r0000-p000.safetensors: OK\nsub/é file.txt: OK\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
