/**
 * The S3 campaign's saver process. It reaches the server at `AWS_ENDPOINT_URL` (the parent points
 * it at its fault proxy) and tells the parent what it does, one line per event on stdout:
 *
 *   ready                       connected, first save about to begin
 *   begin <step>                save of <step> starting
 *   committed <step> <sha256>   the save returned; sha256 = s3Content(seed, step).digest
 *   failed <step> <code>        the save threw a HoldfastError with <code> (`untyped` otherwise)
 *
 * `--loop`: `store.save` of steps start, start+1, … under the writer lease until SIGKILLed (the
 * kill instant is the parent's). `--race`: one commit of step `start` without the lease (straight
 * into the exclusive manifest PUT, as two writers racing for a step), begun when the parent writes
 * `go` on stdin, then exit 0.
 *
 * Usage: node s3-saver-child.js --bucket B --prefix P --seed S --start STEP (--loop | --race)
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { commitCheckpoint } from '../commit/commit-checkpoint.js';
import { planShards } from '../commit/plan-shards.js';
import { isHoldfastError } from '../errors.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import { IoRuntime } from '../io/io-runtime.js';
import { S3Storage } from '../storage/s3-storage.js';
import { openStore } from '../store/open-store.js';
import { s3Content } from './s3-content.js';

interface ChildOptions {
  bucket: string;
  prefix: string;
  seed: number;
  start: number;
  race: boolean;
}

/** A killed saver's lease is free at once (its pid is gone); a live one renews well inside the TTL even through SDK backoffs. */
export const S3_CAMPAIGN_LEASE = { ifHeld: 'wait', ttlMs: 10_000, waitMs: 60_000 } as const;

function parseChildArgs(argv: string[]): ChildOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { bucket: { type: 'string' }, prefix: { type: 'string' }, seed: { type: 'string' }, start: { type: 'string' }, loop: { type: 'boolean' }, race: { type: 'boolean' } },
  });
  if (values.bucket === undefined || values.prefix === undefined || values.loop === values.race) throw new RangeError('needs --bucket, --prefix and one of --loop, --race');
  const int = (name: string, text: string | undefined): number => {
    if (text === undefined || !/^[0-9]+$/.test(text)) throw new RangeError(`--${name} must be a non-negative integer`);
    return Number(text);
  };
  return { bucket: values.bucket, prefix: values.prefix, seed: int('seed', values.seed), start: int('start', values.start), race: values.race === true };
}

async function run(o: ChildOptions, write: (line: string) => void): Promise<void> {
  const storage = new S3Storage({ bucket: o.bucket, prefix: o.prefix }, { upload: { concurrency: 2 } });
  const io = new IoRuntime({ hashWorkers: 0 });
  const outcome = async (step: number, digest: string, save: () => Promise<unknown>): Promise<void> => {
    write(`begin ${step}`);
    try {
      await save();
      write(`committed ${step} ${digest}`);
    } catch (e) {
      write(`failed ${step} ${isHoldfastError(e) ? e.code : 'untyped'}`);
    }
  };
  write('ready');
  if (o.race) {
    await goLine();
    const c = s3Content(o.seed, o.start);
    const ctx = { storage, fs: new MemoryFileSystem(), io, mode: 'atomic_dirsync' as const };
    await outcome(o.start, c.digest, () => commitCheckpoint(ctx, o.start, { shards: planShards(c.tensors, c.shardSizeBytes), files: [], state: c.state }));
    await io.close();
    await storage.close();
    return;
  }
  for (let step = o.start; ; step++) {
    const c = s3Content(o.seed, step);
    const store = await openStore({ storage }, { runtime: io, shardSizeBytes: c.shardSizeBytes, lease: S3_CAMPAIGN_LEASE });
    await outcome(step, c.digest, () => store.save(step, { tensors: c.tensors, state: c.state }));
  }
}

/** The racers start together: each waits for the parent's `go` once both are ready. */
function goLine(): Promise<void> {
  return new Promise((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
}

function isEntryPoint(): boolean {
  return process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
}

if (isEntryPoint()) {
  try {
    await run(parseChildArgs(process.argv.slice(2)), (line) => process.stdout.write(line + '\n'));
  } catch (e) {
    process.stderr.write(`s3-saver-child: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
