/** `holdfast interval`: the advisor's table from the store's recorded save costs; and the CLI signs when a key is in the environment. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, commit, expectExit, expectSpawnExit, inputs, tempDir } from './helpers.js';

describe('holdfast interval', () => {
  it('prints Young, Daly and the current interval with the time each loses', async () => {
    const dir = tempDir();
    const { a, b } = inputs(dir);
    const store = join(dir, 's');
    for (const step of [1, 2]) await commit(store, step, [a, b]);
    const r = expectSpawnExit(['interval', store, '--mtbf', '1d', '--restart-cost', '5m'], 0); // the real binary
    assert.match(r.stdout, /^measured over 2 checkpoint\(s\): pause .*, restore .* \(estimated\)$/m);
    assert.match(r.stdout, /^RULE +INTERVAL +PAUSES +REWORK +RESTART +LOST$/m);
    for (const rule of ['young', 'daly', 'current']) assert.match(r.stdout, new RegExp(`^${rule} +[0-9.]+ (ms|s|min|h|d) +[0-9.]+ %`, 'm'));

    const json = JSON.parse((await expectExit(['interval', store, '--mtbf', '86400', '--restore-cost', '2m', '--json'], 0)).stdout);
    assert.equal(json.restoreMs, 120_000);
    assert.equal(json.restoreEstimated, false);
    assert.equal(json.rows[0].rule, 'young');
    assert.equal(json.rows[0].intervalMs, Math.max(Math.sqrt(2 * json.measured.pauseMs * 86_400_000), json.measured.writeMs - json.measured.pauseMs));
  });

  it('refuses a missing or malformed duration (exit 2)', async () => {
    const dir = tempDir();
    const store = join(dir, 's');
    await commit(store, 1, [inputs(dir).a]);
    assert.match((await expectExit(['interval', store], 2)).stderr, /missing required option --mtbf/);
    assert.match((await expectExit(['interval', store, '--mtbf', 'soon'], 2)).stderr, /--mtbf must be a duration such as 90s/);
  });
});

describe('signing from the environment', () => {
  it('commit signs with HOLDFAST_HMAC_KEY, and verify without it does not check while verify with another key refuses', () => {
    const dir = tempDir();
    const store = join(dir, 's');
    const run = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    const key = { HOLDFAST_HMAC_KEY: 'k'.repeat(32) };
    assert.equal(run(['commit', store, '--step', '1', inputs(dir).a], key).status, 0);
    const shown = run(['inspect', store, '--step', '1'], {});
    assert.match(shown.stdout, /^signature: hmac-sha256 by key hmac-[0-9a-f]{16}$/m);
    assert.equal(run(['verify', store], key).status, 0);
    const wrong = run(['verify', store], { HOLDFAST_HMAC_KEY: 'x'.repeat(32) });
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stdout + wrong.stderr, /not one of the configured keys/);
  });
});
