/**
 * `holdfast gc <store> --keep-last <n>`: deletes committed checkpoints older
 * than the newest <n> (never the newest valid one) and sweeps staging
 * leftovers of interrupted saves (store.gc). Prints each removal.
 */
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, printJson } from '../output.js';

const OPTIONS = { 'keep-last': { type: 'string' }, json: { type: 'boolean' } } as const;

export const gcCommand: Command = {
  name: 'gc',
  summary: 'delete all but the newest <n> checkpoints and sweep staging leftovers',
  help: formatHelp({
    usage: 'holdfast gc <store> --keep-last <n> [--json]',
    description: [
      'Deletes committed checkpoints older than the newest <n>, but never the',
      'newest one that passes verification (finding it verifies, and quarantines',
      'failing newer ones as `holdfast latest` does). Also removes leftovers of',
      'interrupted saves: everything in .staging/ and ckpt-* directories without a',
      'manifest. Quarantined checkpoints are kept. Prints one line per removal.',
      'Run it while no save is in progress. JSON: {"removedSteps": [...], "removedStaging": [...]}.',
    ].join('\n'),
    options: [['--keep-last <n>', 'how many of the newest checkpoints to keep (integer >= 1, required)'], JSON_OPTION, HELP_OPTION],
    exitCodes: [
      [0, 'done (possibly nothing to remove)'],
      [1, 'no store at <store>, or an I/O error'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('gc', argv, OPTIONS, { required: ['store'] });
    const keepLast = args.requiredInteger('keep-last', 1);
    const store = await openExistingStore('gc', args.positionals[0]!, io);
    const result = await store.gc({ keepLast });
    if (args.flag('json')) {
      printJson(io, result);
      return 0;
    }
    for (const step of result.removedSteps) io.stdout(`removed checkpoint ${step}`);
    for (const p of result.removedStaging) io.stdout(`removed leftover ${p}`);
    if (result.removedSteps.length + result.removedStaging.length === 0) io.stderr('holdfast gc: nothing to remove');
    return 0;
  },
};
