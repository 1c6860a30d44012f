/**
 * The kill campaign's child process: saves checkpoints `start, start+1, …`
 * into `--store` in a loop until it is SIGKILLed (or `--max-saves` is
 * reached), each one `killContent(seed, step)`. It tells the parent what it
 * is doing, one line per event on stdout (pipes are synchronous on Linux,
 * so a line is in the pipe before the next call starts):
 *
 *   ready                          store opened, first save about to begin
 *   begin <step> <bytes> <files>   save of <step> starting
 *   committed <step> <sha256>      save(<step>) returned; sha256 = contentDigest
 *   idle                           --max-saves reached; waits to be killed
 *
 * With `--kill-after <kind>:<n>` it SIGKILLs itself right after the n-th
 * completed file-system call of that kind (kill-trigger-file-system.ts).
 *
 * Usage: node kill-child.js --store DIR --mode MODE --seed S --start STEP
 *          [--kill-after KIND:N] [--max-saves N]
 * A child never exits by itself: after `--max-saves` (default unlimited) it
 * idles until killed, so a kill that comes late still finds a process.
 * Exit codes: 1 failure; 2 usage.
 */
import { parseInteger } from '../format/parse-integer.js';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { openStore } from '../store/open-store.js';
import { DURABILITY_MODES, type DurabilityMode } from '../store/types.js';
import { contentDigest, killContent } from './kill-content.js';
import { KillTriggerFileSystem, parseKillAfterOp, type KillAfterOp } from './kill-trigger-file-system.js';

interface KillChildOptions {
  store: string;
  mode: DurabilityMode;
  seed: number;
  start: number;
  killAfter?: KillAfterOp;
  maxSaves?: number;
}

function integer(name: string, text: string | undefined, min: number): number {
  return parseInteger(`--${name}`, text ?? '', min);
}

function parseKillChildArgs(argv: string[]): KillChildOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      store: { type: 'string' }, mode: { type: 'string' }, seed: { type: 'string' }, start: { type: 'string' },
      'kill-after': { type: 'string' }, 'max-saves': { type: 'string' },
    },
  });
  if (values.store === undefined) throw new RangeError('--store is required');
  const mode = values.mode as DurabilityMode;
  if (!DURABILITY_MODES.includes(mode)) throw new RangeError(`--mode must be one of ${DURABILITY_MODES.join(', ')}`);
  const o: KillChildOptions = { store: values.store, mode, seed: integer('seed', values.seed, 0), start: integer('start', values.start, 0) };
  if (values['kill-after'] !== undefined) o.killAfter = parseKillAfterOp(values['kill-after']);
  if (values['max-saves'] !== undefined) o.maxSaves = integer('max-saves', values['max-saves'], 1);
  return o;
}

async function saveUntilKilled(o: KillChildOptions, write: (line: string) => void): Promise<void> {
  const fs = new KillTriggerFileSystem(new PosixFileSystem(), o.killAfter);
  // Creates the store when missing (a replay in a fresh directory). Later opens only read the
  // descriptor, so the store is reopened per save with that save's shard size.
  await openStore(o.store, { fs, durability: o.mode });
  fs.arm();
  write('ready');
  for (let i = 0, step = o.start; o.maxSaves === undefined || i < o.maxSaves; i++, step++) {
    const content = killContent(o.seed, step);
    const digest = contentDigest(content.tensors, content.state);
    const store = await openStore(o.store, { fs, durability: o.mode, create: false, shardSizeBytes: content.shardSizeBytes });
    write(`begin ${step} ${content.totalBytes} ${content.files}`);
    await store.save(step, { tensors: content.tensors, state: content.state });
    write(`committed ${step} ${digest}`);
  }
  write('idle');
  await new Promise<never>(() => setInterval(() => {}, 60_000));
}

function isEntryPoint(): boolean {
  return process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
}

if (isEntryPoint()) {
  let options: KillChildOptions | undefined;
  try {
    options = parseKillChildArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`kill-child: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
  if (options !== undefined) {
    try {
      await saveUntilKilled(options, (line) => process.stdout.write(line + '\n'));
    } catch (e) {
      process.stderr.write(`kill-child: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  }
}
