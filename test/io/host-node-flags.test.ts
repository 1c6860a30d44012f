/**
 * Issue 15: the host's own Node flags never break the hashing workers. Each
 * case runs a real host process on whichever Node runs the suite and saves a
 * state big enough to be hashed on workers (a 4 MiB tensor; streams under
 * 1 MiB are hashed inline), then restores it and compares every value.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/temp-dir.js';

const LIBRARY_URL = new URL('../../src/index.js', import.meta.url).href;
const POOL_URL = new URL('../../src/io/hash-worker-pool.js', import.meta.url).href;
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FLOATS = 1 << 20;

/** An ES module that saves and restores through the public API and prints what it found. */
const SAVE_AND_RESTORE = `
import { openStore } from ${JSON.stringify(LIBRARY_URL)};
const data = new Float32Array(${FLOATS});
for (let i = 0; i < data.length; i++) data[i] = i * 0.25;
const store = await openStore(process.env.HF_ROOT);
const saved = await store.save(1, { tensors: { w: { dtype: 'F32', shape: [data.length], data } }, state: { step: 1 } });
const back = (await store.restore()).tensors.w.data;
let same = back.length === data.length;
for (let i = 0; same && i < data.length; i++) same = back[i] === data[i];
// Whether workers really started under these flags (a silent fallback would also save correctly).
const { HashWorkerPool } = await import(${JSON.stringify(POOL_URL)});
const pool = new HashWorkerPool({ workers: 1 });
const probe = pool.open(2 << 20);
await probe.update(new Uint8Array(2 << 20));
await probe.digest();
await pool.close();
console.log(JSON.stringify({ step: saved.step, bytes: saved.bytes, same, fallback: probe.fallbackReason ?? null }));
`;

/** A loader hook that records in which thread it ran (and, when asked, refuses to run in a worker). */
const HOOK = `
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
appendFileSync(process.env.HF_MARK, isMainThread ? 'main\\n' : 'worker\\n');
if (!isMainThread && process.env.HF_HOOK_REFUSES_WORKERS === '1') throw new Error('this hook refuses worker threads');
`;

interface Host {
  args: string[];
  input?: string;
  env?: Record<string, string>;
}

function run(t: TestContext, dir: string, host: Host): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_ROOT: join(dir, 'store'), HF_MARK: join(dir, 'mark'), ...host.env };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(process.execPath, host.args, { cwd: dir, encoding: 'utf8', env, input: host.input ?? '', timeout: 120_000 });
  t.diagnostic(r.stderr);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts the state came back equal; returns why workers fell back (null: they started). */
function assertSavedAndRestored(r: { code: number | null; stdout: string; stderr: string }): string | null {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim()) as { step: number; bytes: number; same: boolean; fallback: string | null };
  assert.equal(out.step, 1);
  assert.equal(out.same, true);
  assert.ok(out.bytes >= FLOATS * 4);
  return out.fallback;
}

function marks(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'mark'), 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

test('node --input-type=module -e: a large save and restore succeed', (t) => {
  const dir = tempDir(t);
  assert.equal(assertSavedAndRestored(run(t, dir, { args: ['--input-type=module', '-e', SAVE_AND_RESTORE] })), null);
});

test('node --input-type=module reading the script from stdin: a large save and restore succeed', (t) => {
  const dir = tempDir(t);
  assert.equal(assertSavedAndRestored(run(t, dir, { args: ['--input-type=module'], input: SAVE_AND_RESTORE })), null);
});

test('NODE_OPTIONS=--input-type=module with -e: the flag is dropped for workers, a loader in it is kept', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hook.mjs'), HOOK);
  const r = run(t, dir, { args: ['-e', SAVE_AND_RESTORE], env: { NODE_OPTIONS: '--input-type=module --import ./hook.mjs' } });
  assert.equal(assertSavedAndRestored(r), null);
  assert.ok(marks(dir).includes('worker'), `the hook from NODE_OPTIONS ran in the hashing workers: ${marks(dir).join(',')}`);
});

test('a script run with --import of a loader: the save succeeds and the workers load the same loader', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hook.mjs'), HOOK);
  writeFileSync(join(dir, 'train.mjs'), SAVE_AND_RESTORE);
  assert.equal(assertSavedAndRestored(run(t, dir, { args: ['--import', './hook.mjs', 'train.mjs'] })), null);
  assert.ok(marks(dir).includes('main'));
  assert.ok(marks(dir).includes('worker'), `--import reached the hashing workers: ${marks(dir).join(',')}`);
});

test('a loader that fails in workers: hashing falls back to the main thread and the save still succeeds', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hook.mjs'), HOOK);
  writeFileSync(join(dir, 'train.mjs'), SAVE_AND_RESTORE);
  const r = run(t, dir, { args: ['--import', './hook.mjs', 'train.mjs'], env: { HF_HOOK_REFUSES_WORKERS: '1' } });
  assert.match(assertSavedAndRestored(r) ?? '', /could not start.*--import.*hook refuses worker threads/);
});

test('the CLI under a host --import: commit of a large file, then verify (hashed on workers) succeed', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hook.mjs'), HOOK);
  const big = Buffer.alloc(6 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(dir, 'big.bin'), big);
  for (const refuse of ['0', '1']) {
    const store = join(dir, `store${refuse}`);
    const env = { HF_HOOK_REFUSES_WORKERS: refuse };
    const committed = run(t, dir, { args: ['--import', './hook.mjs', CLI, 'commit', store, '--step', '1', 'big.bin'], env });
    assert.equal(committed.code, 0, committed.stderr);
    const verified = run(t, dir, { args: ['--import', './hook.mjs', CLI, 'verify', store, '--json'], env });
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.ok(marks(dir).includes('worker'), 'verify hashed the 6 MiB file on a worker (or tried to)');
  }
});
