/**
 * Test helpers for the CLI: run `holdfast` in-process through `runCli` (the
 * same dispatch, output and exit-code contract as the binary, without a
 * Node start-up per call), or, once per command, the built binary in a child
 * process; make temp dirs that are removed after the run; build fixtures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/main.js';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `holdfast <args>` in-process; each output line ends in a newline, as the binary prints it. */
export async function holdfast(args: string[]): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (l) => (stdout += l + '\n'), stderr: (l) => (stderr += l + '\n') });
  return { code, stdout, stderr };
}

/** `holdfast <args>` as a child process running the built binary: proves the entry point wires process I/O and the exit code. */
export function spawnHoldfast(args: string[]): RunResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertExit(args: string[], r: RunResult, code: number): RunResult {
  assert.equal(r.code, code, `holdfast ${args.join(' ')} → ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Runs in-process and asserts the exit code, showing both streams when it differs. */
export async function expectExit(args: string[], code: number): Promise<RunResult> {
  return assertExit(args, await holdfast(args), code);
}

/** Runs the real binary in a child process and asserts the exit code. */
export function expectSpawnExit(args: string[], code: number): RunResult {
  return assertExit(args, spawnHoldfast(args), code);
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'holdfast-cli-'));
  dirs.push(d);
  return d;
}

/** A temp dir with input files `a.bin` (small) and `b.bin` (a few hundred KiB of pseudo-random bytes). */
export function inputs(dir: string): { a: string; b: string } {
  const a = join(dir, 'a.bin');
  const b = join(dir, 'b.bin');
  writeFileSync(a, 'optimizer state v1\n');
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  writeFileSync(b, big);
  return { a, b };
}

/** Commits `files` as `step` into `store` through the CLI and returns the checkpoint directory. */
export async function commit(store: string, step: number, files: string[]): Promise<string> {
  return (await expectExit(['commit', store, '--step', String(step), ...files], 0)).stdout.trim();
}

export function ckptDir(store: string, step: number): string {
  return join(store, `ckpt-${String(step).padStart(12, '0')}`);
}

export function flipByte(file: string, offset = 0): void {
  const bytes = readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  writeFileSync(file, bytes);
}

/** Every file under `dir`, relative, sorted, with its bytes: a snapshot to compare before and after. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath ?? e.path, e.name);
    out.set(p.slice(dir.length + 1), readFileSync(p).toString('base64'));
  }
  return new Map([...out].sort());
}

/** Error output is exactly one line naming the command. */
export function assertOneErrorLine(r: RunResult, command: string | undefined): void {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0]!, new RegExp(`^holdfast${command === undefined ? '' : ` ${command}`}: `));
}
