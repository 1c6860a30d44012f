/**
 * The benchmark's child processes (a fresh process per sample, an io path under another libuv
 * setting, a save whose peak memory is read): each runs one script with the host's filtered Node
 * flags and prints its result as the last line of stdout, as JSON. A child that fails, or prints no
 * JSON, is an error naming it with what it printed.
 */
import { spawn } from 'node:child_process';
import { HoldfastError } from '../errors.js';
import { childNodeLaunch } from '../io/worker-flags.js';

export function runJsonChild<T>(name: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const launch = childNodeLaunch(script, args);
  const child = spawn(process.execPath, launch.argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...launch.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as T);
          return;
        } catch {
          // reported below with what the child printed
        }
      }
      reject(new HoldfastError('HF_IO', `${name} exited with code ${String(code)}: ${(stderr || stdout).trim().slice(0, 500)}`));
    });
  });
}
