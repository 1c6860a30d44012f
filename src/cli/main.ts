#!/usr/bin/env node
/**
 * The `holdfast` executable: dispatches to a command from the registry,
 * prints help, and turns every thrown error into exactly one line on stderr
 * (`holdfast <cmd>: <message>`) or, with --json, one JSON object on stdout,
 * plus the contract's exit code: 0 ok, 1 failure, 2 usage, 3 nothing valid.
 * `runCli` does all of it without touching `process`, so tests can call it.
 */
import { fileURLToPath } from 'node:url';
import { realPathOrUndefined } from '../fs/real-path.js';
import { HoldfastError, exitCodeFor } from '../errors.js';
import { LIBRARY_VERSION } from '../version.js';
import type { CliIo, Command } from './command.js';
import { COMMANDS, findCommand } from './commands/index.js';
import { escapeControl } from './output.js';

function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'holdfast: crash-safe, verified checkpoints for AI training',
    '',
    'Usage: holdfast <command> <store> [options]',
    '       holdfast help <command>      (or holdfast <command> --help)',
    '       holdfast --version',
    '  <store> is a directory, an s3://bucket/prefix URL, or a tiered store',
    '  LOCAL::DURABLE (saves go to LOCAL and are uploaded to DURABLE; see sync)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help',
    '  -V, --version  print the version',
    '',
    'Exit codes:',
    '  0  ok',
    '  1  failure: verification failed, no such store or checkpoint, I/O error',
    '  2  usage error: unknown command or option, missing or malformed argument',
    '  3  nothing valid found: no checkpoint passes verification',
    '',
    'Errors are one line on stderr: "holdfast <command>: <message>". With --json,',
    'stdout carries exactly one JSON document, errors included:',
    '  {"error": {"code": "HF_…", "message": "…", "path": "…"}, "exitCode": n}',
    'Notes (quarantine, progress) always go to stderr. Only commit creates a',
    'store; every other command refuses a missing one (exit 1).',
    'HOLDFAST_DEBUG=1 prints stack traces of unexpected errors.',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(topLevelHelp());
    return 2;
  }
  if (first === '-h' || first === '--help') {
    io.stdout(topLevelHelp());
    return 0;
  }
  if (first === '-V' || first === '--version') {
    io.stdout(LIBRARY_VERSION);
    return 0;
  }
  if (first === 'help') return help(rest, io);
  const command = findCommand(first);
  if (command === undefined) {
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}`;
    return report(new HoldfastError('HF_INVALID_ARG', `${what} (run 'holdfast --help')`), 'holdfast', false, io);
  }
  const options = rest.slice(0, rest.includes('--') ? rest.indexOf('--') : rest.length);
  if (options.includes('--help') || options.includes('-h')) {
    io.stdout(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    return report(e, `holdfast ${command.name}`, options.includes('--json'), io);
  }
}

function help(args: string[], io: CliIo): number {
  if (args.length === 0) {
    io.stdout(topLevelHelp());
    return 0;
  }
  const command: Command | undefined = args.length === 1 ? findCommand(args[0]!) : undefined;
  if (command === undefined) {
    const what = args.length === 1 ? `unknown command ${JSON.stringify(args[0])}` : 'help takes one command name';
    return report(new HoldfastError('HF_INVALID_ARG', `${what} (run 'holdfast --help')`), 'holdfast help', false, io);
  }
  io.stdout(command.help);
  return 0;
}

function report(e: unknown, prefix: string, json: boolean, io: CliIo): number {
  const exitCode = exitCodeFor(e);
  const message = e instanceof Error ? e.message : String(e);
  if (json) {
    // JSON.stringify escapes every control character, so the message goes out exact.
    const code = e instanceof HoldfastError ? e.code : 'INTERNAL';
    const path = e instanceof HoldfastError ? e.path : undefined;
    io.stdout(JSON.stringify({ error: { code, message, ...(path !== undefined ? { path } : {}) }, exitCode }, null, 2));
  } else {
    io.stderr(`${prefix}: ${escapeControl(message)}`);
  }
  if (!(e instanceof HoldfastError) && process.env['HOLDFAST_DEBUG'] === '1' && e instanceof Error && e.stack) io.stderr(e.stack);
  return exitCode;
}


/** The process-backed IO; progress is drawn in place only on a terminal. */
function processIo(): CliIo {
  let progressShown = false;
  const clearProgress = (): void => {
    if (progressShown) process.stderr.write('\r\x1b[K');
    progressShown = false;
  };
  const io: CliIo = {
    stdout: (line) => {
      process.stdout.write(line + '\n');
    },
    stderr: (line) => {
      clearProgress();
      process.stderr.write(line + '\n');
    },
  };
  if (process.stderr.isTTY) {
    io.progress = (text) => {
      process.stderr.write(`\r\x1b[K${text}`);
      progressShown = true;
    };
  }
  process.on('exit', clearProgress);
  return io;
}

function isEntryPoint(): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  // npm installs the bin as a symlink; compare real paths.
  const real = realPathOrUndefined(invoked);
  return real !== undefined && real === realPathOrUndefined(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) {
  // A reader that closes the pipe early (`holdfast ls s | head -1`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  const code = await runCli(process.argv.slice(2), processIo());
  process.exitCode = code;
}
