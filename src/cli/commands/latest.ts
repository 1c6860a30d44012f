/**
 * `holdfast latest <store> [--json]`: the newest checkpoint that passes full
 * verification (store.latest). Newer ones that fail are quarantined on the
 * way (moved to .quarantine/, never deleted) and each is reported on stderr.
 */
import { HoldfastError } from '../../index.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, printJson } from '../output.js';

const OPTIONS = { json: { type: 'boolean' } } as const;

export const latestCommand: Command = {
  name: 'latest',
  summary: 'the newest checkpoint that passes verification (quarantines failing newer ones)',
  help: formatHelp({
    usage: 'holdfast latest <store> [--json]',
    description: [
      'Verifies checkpoints newest first and prints the first that passes, as',
      '"<step> <path>". Each newer checkpoint that fails is quarantined (moved to',
      '<store>/.quarantine/, never deleted) and reported on stderr with its reason.',
      'JSON: {"step": n, "path": "...", "skipped": [{step, reason}]}.',
    ].join('\n'),
    options: [JSON_OPTION, HELP_OPTION],
    exitCodes: [
      [0, 'found one'],
      [1, 'no store at <store>, or an I/O error'],
      [2, 'usage error'],
      [3, 'no checkpoint passes verification (failing ones were quarantined)'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('latest', argv, OPTIONS, { required: ['store'] });
    const store = await openExistingStore('latest', args.positionals[0]!, io);
    const found = await store.latest();
    if (found === null) throw new HoldfastError('HF_NO_VALID_CHECKPOINT', `no valid checkpoint in ${store.root}`, { path: store.root });
    if (args.flag('json')) printJson(io, { step: found.step, path: found.path, skipped: found.skipped });
    else io.stdout(`${found.step} ${found.path}`);
    return 0;
  },
};
