/** The CLI encrypts with a key from the environment; verify, latest and inspect need none; restore without it names the key. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, ckptDir, inputs, tempDir } from './helpers.js';

const run = (args: string[], env: Record<string, string>) => {
  const clean = { ...process.env };
  for (const name of ['HOLDFAST_ENCRYPTION_KEY', 'HOLDFAST_ENCRYPTION_KEY_FILE', 'HOLDFAST_ENCRYPTION_KEY_ID']) delete clean[name];
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...clean, ...env } });
};

describe('encryption from the environment', () => {
  it('commit encrypts with HOLDFAST_ENCRYPTION_KEY; verify/latest/inspect work without it; restore needs it (a key file works too)', () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 's');
    const secret = 'e'.repeat(64);
    const committed = run(['commit', store, '--step', '1', a, b], { HOLDFAST_ENCRYPTION_KEY: secret });
    assert.equal(committed.status, 0, committed.stderr);
    assert.ok(!readFileSync(join(ckptDir(store, 1), 'a.bin')).includes('optimizer state'), 'stored encrypted');

    const shown = run(['inspect', store, '--step', '1'], {});
    const keyId = /^encryption: aes-256-gcm with key (aes-[0-9a-f]{16}), records of 8\.0 MiB$/m.exec(shown.stdout)?.[1];
    assert.ok(keyId, shown.stdout);
    assert.equal(run(['verify', store], {}).status, 0);
    assert.equal(run(['latest', store], {}).status, 0);

    const refused = run(['restore', store, '--to', join(dir, 'out1')], {});
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, new RegExp(`encrypted with key ${keyId}, and no encryption key is configured`));
    const wrong = run(['restore', store, '--to', join(dir, 'out2')], { HOLDFAST_ENCRYPTION_KEY: 'x'.repeat(64) });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, new RegExp(`encrypted with key ${keyId}, and the configured key is aes-`));
    assert.equal(run(['ls', store], {}).stdout.match(/^ *1 /m)?.length, 1, 'still listed: nothing quarantined');

    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${secret}\n`);
    const restored = run(['restore', store, '--to', join(dir, 'out')], { HOLDFAST_ENCRYPTION_KEY_FILE: keyFile });
    assert.equal(restored.status, 0, restored.stderr);
    assert.ok(readFileSync(join(dir, 'out', 'a.bin')).equals(readFileSync(a)));
    assert.ok(readFileSync(join(dir, 'out', 'b.bin')).equals(readFileSync(b)));
  });
});
