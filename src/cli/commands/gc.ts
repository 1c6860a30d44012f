/**
 * `holdfast gc <store> --keep-last <n>`: deletes committed checkpoints older
 * than the newest <n> (never the newest valid one), sweeps staging leftovers
 * of interrupted saves older than a grace period, and quarantines `ckpt-*`
 * directories without a manifest (store.gc, under the writer lease). Prints
 * each removal.
 */
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, printJson } from '../output.js';

const OPTIONS = { 'keep-last': { type: 'string' }, 'staging-grace': { type: 'string' }, json: { type: 'boolean' } } as const;

export const gcCommand: Command = {
  name: 'gc',
  summary: 'delete all but the newest <n> checkpoints and sweep staging leftovers',
  help: formatHelp({
    usage: 'holdfast gc <store> --keep-last <n> [--staging-grace <seconds>] [--json]',
    description: [
      'Deletes committed checkpoints older than the newest <n>, but never the',
      'newest one that passes verification (finding it verifies, and quarantines',
      'failing newer ones as `holdfast latest` does). Also removes leftovers of',
      'interrupted saves in .staging/ older than the grace period, and moves ckpt-*',
      'directories without a manifest to .quarantine/ (never deleted: a lost manifest',
      'may be all that is wrong). Prints one line per removal.',
      'gc takes the store\'s writer lease: it waits for a save in progress to finish.',
      'JSON: {"removedSteps": [...], "removedStaging": [...], "quarantined": [...]}.',
    ].join('\n'),
    options: [
      ['--keep-last <n>', 'how many of the newest checkpoints to keep (integer >= 1, required)'],
      ['--staging-grace <seconds>', 'keep staging leftovers younger than this: they may belong to a paused save (default 600)'],
      JSON_OPTION,
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'done (possibly nothing to remove)'],
      [1, 'no store at <store>, or an I/O error'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('gc', argv, OPTIONS, { required: ['store'] });
    const keepLast = args.requiredInteger('keep-last', 1);
    const graceSeconds = args.integer('staging-grace', 0);
    const store = await openExistingStore('gc', args.positionals[0]!, io);
    const result = await store.gc({ keepLast, ...(graceSeconds === undefined ? {} : { stagingGraceMs: graceSeconds * 1000 }) });
    if (args.flag('json')) {
      printJson(io, result);
      return 0;
    }
    for (const step of result.removedSteps) io.stdout(`removed checkpoint ${step}`);
    for (const p of result.removedStaging) io.stdout(`removed leftover ${p}`);
    for (const p of result.quarantined) io.stdout(`quarantined ${p}`);
    if (result.removedSteps.length + result.removedStaging.length + result.quarantined.length === 0) io.stderr('holdfast gc: nothing to remove');
    return 0;
  },
};
