/** The `holdfast` entry point: help, version, dispatch, and the error → exit code / output contract. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { assertOneErrorLine, expectExit, expectSpawnExit, tempDir } from './helpers.js';

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, out, err };
}

describe('holdfast (entry point)', () => {
  it('--help lists every command and the exit codes', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await expectExit([flag], 0);
      assert.match(r.stdout, /^Usage: holdfast <command>/m);
      for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} `, 'm'));
      for (const code of [0, 1, 2, 3]) assert.match(r.stdout, new RegExp(`^  ${code}  `, 'm'));
    }
  });

  it('every command has --help and help <cmd> with a usage line, its flags and exit codes', async () => {
    for (const c of COMMANDS) {
      const r = await expectExit([c.name, '--help'], 0);
      assert.match(r.stdout, new RegExp(`^Usage: holdfast ${c.name}\\b`));
      assert.match(r.stdout, /^Options:$/im);
      assert.match(r.stdout, /^Exit codes:$/im);
      assert.equal((await expectExit(['help', c.name], 0)).stdout, r.stdout);
    }
  });

  it('--version prints the version', async () => {
    assert.match((await expectExit(['--version'], 0)).stdout, /^holdfast \d+\.\d+\.\d+\n$/);
  });

  it('no arguments, an unknown command or an unknown top-level flag is a usage error (exit 2)', async () => {
    assert.match((await expectExit([], 2)).stderr, /Usage: holdfast/);
    const r = expectSpawnExit(['frobnicate'], 2); // the real binary: exit code and stderr wiring
    assertOneErrorLine(r, undefined);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match((await expectExit(['--frob'], 2)).stderr, /unknown option --frob/);
    assert.match((await expectExit(['help', 'frobnicate'], 2)).stderr, /unknown command "frobnicate"/);
  });

  it('with --json an error is one JSON object on stdout with its code, and stderr stays empty', async () => {
    const dir = tempDir();
    const r = await expectExit(['ls', join(dir, 'missing'), '--json'], 1);
    assert.equal(r.stderr, '');
    const json = JSON.parse(r.stdout) as { error: { code: string; message: string; path: string }; exitCode: number };
    assert.deepEqual(json, { error: { code: 'HF_NOT_FOUND', message: `no store at ${join(dir, 'missing')}`, path: join(dir, 'missing') }, exitCode: 1 });
    const usage = JSON.parse((await expectExit(['ls', dir, '--json', '--nope'], 2)).stdout) as { error: { code: string }; exitCode: number };
    assert.equal(usage.error.code, 'HF_INVALID_ARG');
    assert.equal(usage.exitCode, 2);
  });

  it('runCli works in-process and maps a non-Holdfast exception to exit 1, one line, no stack trace', async () => {
    const dir = tempDir();
    const missing = capture();
    assert.equal(await runCli(['ls', join(dir, 'missing')], missing.io), 1);
    assert.deepEqual(missing.err, [`holdfast ls: no store at ${join(dir, 'missing')}`]);

    const store = join(dir, 's');
    writeFileSync(join(dir, 'a.bin'), 'abc');
    const committed = capture();
    assert.equal(await runCli(['commit', store, '--step', '1', join(dir, 'a.bin')], committed.io), 0);
    assert.deepEqual(committed.out, [join(store, 'ckpt-000000000001')]);

    // A failure that is not a HoldfastError: the output sink itself throws.
    const exploding = (err: string[]) => ({ stdout: () => { throw new TypeError('stdout exploded'); }, stderr: (l: string) => err.push(l) });
    const err: string[] = [];
    assert.equal(await runCli(['ls', store], exploding(err)), 1);
    assert.deepEqual(err, ['holdfast ls: stdout exploded']);

    const debugErr: string[] = [];
    process.env['HOLDFAST_DEBUG'] = '1';
    try {
      assert.equal(await runCli(['ls', store], exploding(debugErr)), 1);
    } finally {
      delete process.env['HOLDFAST_DEBUG'];
    }
    assert.equal(debugErr[0], 'holdfast ls: stdout exploded');
    assert.match(debugErr[1] ?? '', /^TypeError: stdout exploded\n\s+at /);

    // With --json the same failure is a JSON error with code INTERNAL.
    const out: string[] = [];
    let first = true;
    const io = { stdout: (l: string) => { if (first) { first = false; throw new TypeError('stdout exploded'); } out.push(l); }, stderr: () => {} };
    assert.equal(await runCli(['ls', store, '--json'], io), 1);
    assert.deepEqual(JSON.parse(out[0]!), { error: { code: 'INTERNAL', message: 'stdout exploded' }, exitCode: 1 });
  });

  it('an error naming a path with control characters is still one escaped line; --json carries it exact', async () => {
    const dir = tempDir();
    const hostile = join(dir, 'a\nb\rc\u001b[2Jd\u2028e');
    const text = capture();
    assert.equal(await runCli(['ls', hostile], text.io), 1);
    assert.equal(text.err.length, 1);
    assert.equal(text.err[0], `holdfast ls: no store at ${join(dir, 'a\\nb\\rc\\u001b[2Jd\\u2028e')}`);
    assert.doesNotMatch(text.err[0]!, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);

    const json = capture();
    assert.equal(await runCli(['ls', hostile, '--json'], json.io), 1);
    const parsed = JSON.parse(json.out.join('\n')) as { error: { message: string; path: string } };
    assert.equal(parsed.error.message, `no store at ${hostile}`);
    assert.equal(parsed.error.path, hostile);
  });
});
