/**
 * `holdfast restore <store> [--step <n>] --to <dir>`: copies a verified
 * checkpoint's files into <dir> (store.restoreFiles), re-hashing each copy.
 * An explicit --step that fails verification is refused; without --step the
 * newest valid one is used, quarantining failing newer ones like `latest`.
 */
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, printJson } from '../output.js';

const OPTIONS = { step: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } } as const;

export const restoreCommand: Command = {
  name: 'restore',
  summary: "copy a verified checkpoint's files out to a directory",
  help: formatHelp({
    usage: 'holdfast restore <store> [--step <n>] --to <dir> [--json]',
    description: [
      "Verifies checkpoint <n> (default: the newest that passes) and copies its",
      'files into <dir> (created if missing), checking each copy against the',
      'recorded hash. Existing files in <dir> are never overwritten: the restore',
      'fails instead. Without --step, failing newer checkpoints are quarantined as',
      'in `holdfast latest`; with --step, a failing checkpoint is refused.',
      'Prints the restored file paths. JSON: {"step": n, "files": ["..."]}.',
    ].join('\n'),
    options: [
      ['--step <n>', 'checkpoint to restore (default: the newest valid one)'],
      ['--to <dir>', 'destination directory (required)'],
      JSON_OPTION,
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'restored'],
      [1, 'verification failed, no checkpoint <n>, no store, a file exists in <dir>, or an I/O error'],
      [2, 'usage error'],
      [3, 'no --step given and no checkpoint passes verification'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('restore', argv, OPTIONS, { required: ['store'] });
    const step = args.integer('step');
    const to = args.requiredString('to');
    const store = await openExistingStore('restore', args.positionals[0]!, io);
    const result = await store.restoreFiles(step, to);
    if (args.flag('json')) {
      printJson(io, result);
    } else {
      for (const f of result.files) io.stdout(f);
      io.stderr(`holdfast restore: restored checkpoint ${result.step} (${result.files.length} file(s))`);
    }
    return 0;
  },
};
