/**
 * Sync after a kill: a child process saves to a tiered store and is SIGKILLed
 * midway through the upload (tier-kill-child.ts); then `holdfast sync
 * LOCAL::DURABLE --json` in another process resumes it (timed whole, process
 * start included, as an operator runs it), and the durable copy is verified
 * byte for byte through the public API (timed apart). Reported: the bytes the
 * sync sent against the checkpoint's, and where the kill landed.
 */
import { spawn } from 'node:child_process';
import { posix as path } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoldfastError } from '../errors.js';
import { openStore, type UploadReport } from '../index.js';
import type { FileSystem } from '../fs/file-system.js';
import { removeTree } from '../fs/file-utils.js';
import { childNodeLaunch } from '../io/worker-flags.js';
import type { TierKillArgs } from './tier-kill-child.js';

const CHILD = fileURLToPath(new URL('./tier-kill-child.js', import.meta.url));
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const KILL_AT_FRACTION = 0.5;

export interface TierKillSync {
  bytes: number;
  /** False when the upload finished before the kill landed (a state this small): nothing was left to resume. */
  killed: boolean;
  /** The upload's settled bytes when the child said so, just before its SIGKILL. */
  killedAtBytes: number;
  /** What `holdfast sync` sent to finish the upload. */
  sentBytes: number;
  syncSeconds: number;
  verifySeconds: number;
  verified: boolean;
}

export async function tierKillSync(fs: FileSystem, work: string, bucket: string, workload: string, maxBytes: number): Promise<TierKillSync> {
  const local = path.join(work, 'tier-kill-local');
  const durable = `s3://${bucket}/tier-kill`;
  const args: TierKillArgs = { local, durable, workload, maxBytes, step: 1, killAtFraction: KILL_AT_FRACTION };
  const kill = await killMidUpload(args);
  const t0 = performance.now();
  const report = JSON.parse(await runCli(['sync', `${local}::${durable}`, '--json'])) as UploadReport;
  const syncSeconds = (performance.now() - t0) / 1000;
  const result = report.results.find((r) => r.step === 1);
  if (result === undefined) throw new HoldfastError('HF_IO', `holdfast sync reported no result for step 1: ${JSON.stringify(report)}`);
  const t1 = performance.now();
  const store = await openStore(durable, { create: false });
  const verified = (await store.verify(1)).every((r) => r.ok);
  await store.close();
  const verifySeconds = (performance.now() - t1) / 1000;
  await removeTree(fs, local);
  return { bytes: result.bytes, killed: kill.killed, killedAtBytes: kill.doneBytes, sentBytes: result.sentBytes, syncSeconds, verifySeconds, verified };
}

function killMidUpload(args: TierKillArgs): Promise<{ killed: boolean; doneBytes: number }> {
  const launch = childNodeLaunch(CHILD, [JSON.stringify(args)]);
  const child = spawn(process.execPath, launch.argv, { stdio: ['ignore', 'pipe', 'pipe'], env: launch.env });
  let out = '';
  let err = '';
  let doneBytes = -1;
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    const m = /uploading (\d+)/.exec(out);
    if (m !== null && doneBytes < 0) {
      doneBytes = Number(m[1]);
      child.kill('SIGKILL');
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && doneBytes >= 0) resolve({ killed: true, doneBytes });
      else if (code === 0 && out.includes('finished')) resolve({ killed: false, doneBytes: Math.max(0, doneBytes) });
      else reject(new HoldfastError('HF_IO', `tier kill child exited (${signal ?? String(code)}) before its upload was cut: ${(err || out).trim().slice(0, 500)}`));
    });
  });
}

function runCli(argv: string[]): Promise<string> {
  const launch = childNodeLaunch(CLI, argv);
  const child = spawn(process.execPath, launch.argv, { stdio: ['ignore', 'pipe', 'pipe'], env: launch.env });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new HoldfastError('HF_IO', `holdfast ${argv.join(' ')} exited with code ${String(code)}: ${err.trim().slice(0, 500)}`))));
  });
}
