/**
 * `holdfast commit <store> --step <n> [--mode …] <file>...`: commits the
 * files as checkpoint n (store.commitFiles) and prints its directory.
 * Creates the store if missing, but only once every input file is known to
 * exist, so a typo leaves nothing behind.
 */
import { posix as path } from 'node:path';
import { invalidArg } from '../../errors.js';
import { describeEntryType } from '../../fs/file-system.js';
import { statOrUndefined } from '../../fs/file-utils.js';
import { PosixFileSystem } from '../../fs/posix-file-system.js';
import { DURABILITY_MODES, type DurabilityMode } from '../../index.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openOrCreateStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, printJson } from '../output.js';

const OPTIONS = { step: { type: 'string' }, mode: { type: 'string' }, json: { type: 'boolean' } } as const;

export const commitCommand: Command = {
  name: 'commit',
  summary: 'commit files as checkpoint <n> of a store (creates the store if missing)',
  help: formatHelp({
    usage: 'holdfast commit <store> --step <n> [--mode <mode>] [--json] <file>...',
    description: [
      'Copies the files into the store as checkpoint <n>, hashing every byte, and',
      'commits it atomically: readers see all of it or none of it. Prints the',
      'checkpoint directory. A step that is already committed is never overwritten.',
      'Files keep their base names; two files with the same base name are refused.',
    ].join('\n'),
    options: [
      ['--step <n>', 'step number of the checkpoint (non-negative integer, required)'],
      ['--mode <mode>', `durability: ${DURABILITY_MODES.join(' | ')} (default atomic_dirsync, survives power loss)`],
      JSON_OPTION,
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'committed'],
      [1, 'failed (the step is already committed, I/O error); nothing was committed'],
      [2, 'usage error (bad or missing --step, unknown --mode, missing input file)'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('commit', argv, OPTIONS, { required: ['store'], variadic: 'file' });
    const step = args.requiredInteger('step');
    const mode = args.string('mode');
    if (mode !== undefined && !DURABILITY_MODES.includes(mode as DurabilityMode)) {
      throw invalidArg(`--mode must be one of ${DURABILITY_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
    }
    const [root, ...files] = args.positionals as [string, ...string[]];
    const fs = new PosixFileSystem();
    for (const f of files) {
      const st = await statOrUndefined(fs, path.resolve(f));
      if (st?.type !== 'file') throw invalidArg(`${path.resolve(f)} is ${st === undefined ? 'missing' : describeEntryType(st.type)}, expected a regular file`);
    }
    const store = await openOrCreateStore('commit', root, io, mode as DurabilityMode | undefined);
    const result = await store.commitFiles(step, files);
    // A tiered store uploads before the process ends: a failed upload is an error (the local commit stands).
    await store.close();
    if (args.flag('json')) printJson(io, result);
    else io.stdout(result.path);
    return 0;
  },
};
