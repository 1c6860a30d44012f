/**
 * Several benchmark child processes started together (the rank rows): each
 * builds its input untimed, prints `ready`, and waits for `go` on stdin; the
 * parent sends `go` to all once all are ready, so their timed parts start
 * within a few milliseconds of each other. Each prints its result as the last
 * line of stdout, as JSON, with wall-clock times (`nowMs`) the parent can
 * compare across processes. A child that fails is an error naming it.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { HoldfastError } from '../errors.js';
import { childNodeLaunch } from '../io/worker-flags.js';

/** Milliseconds since the epoch with sub-millisecond resolution: one clock for every process of the host. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1e6;
}

/** In the child: says it is ready and resolves when the parent says go. */
export function readyAndWaitForGo(): Promise<void> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (s: string): void => {
      got += s;
      if (!got.includes('go\n')) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve();
    };
    process.stdin.setEncoding('utf8').on('data', onData);
    process.stdout.write('ready\n');
  });
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/** Runs `script` once per argument list, all started at one `go`; results in argument order. */
export async function runTogether<T>(name: string, script: string, argLists: readonly (readonly string[])[]): Promise<T[]> {
  const children: Child[] = [];
  const results: Promise<T>[] = [];
  const readies: Promise<void>[] = [];
  for (const [i, args] of argLists.entries()) {
    const launch = childNodeLaunch(script, args);
    const child = spawn(process.execPath, launch.argv, { stdio: ['pipe', 'pipe', 'pipe'], env: launch.env });
    children.push(child);
    child.stdin.on('error', () => undefined); // a child that died early: its result says why
    let stdout = '';
    let stderr = '';
    let markReady: () => void = () => undefined;
    readies.push(new Promise((r) => (markReady = r)));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (stdout.startsWith('ready\n')) markReady();
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    results.push(
      new Promise<T>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => {
          markReady();
          const last = stdout.trim().split('\n').at(-1) ?? '';
          if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as T);
          else reject(new HoldfastError('HF_IO', `${name} ${i} exited with code ${String(code)}: ${(stderr || stdout).trim().slice(0, 500)}`));
        });
      }),
    );
  }
  // A child that died before it was ready settles its result with the error; the others still get `go` and finish.
  await Promise.all(readies);
  for (const c of children) c.stdin.end('go\n');
  const settled = await Promise.allSettled(results);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
