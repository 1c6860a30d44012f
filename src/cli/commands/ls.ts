/**
 * `holdfast ls <store> [--json]`: the committed checkpoints, oldest first
 * (store.list). Staging leftovers and quarantined checkpoints are not
 * listed; nothing is hashed, so a listed checkpoint is not yet a trusted one.
 */
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, escapeControl, formatBytes, formatHelp, formatTable, printJson } from '../output.js';

const OPTIONS = { json: { type: 'boolean' } } as const;

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list committed checkpoints: step, size, files, created',
  help: formatHelp({
    usage: 'holdfast ls <store> [--json]    (<store>: a directory, s3://bucket/prefix, or LOCAL::DURABLE)',
    description: [
      'Lists the committed checkpoints of a store, oldest first: step, total size of',
      'its files, number of files, creation time. In-progress saves (.staging/) and',
      'quarantined checkpoints (.quarantine/) are not listed. Reads manifests only;',
      'use `holdfast verify` to check the data. Never creates or changes anything.',
      'A tiered store (LOCAL::DURABLE, see `holdfast sync --help`) lists both tiers',
      'with a TIER column: local (not uploaded yet), uploading (an upload began and',
      'has not committed: running, or interrupted and resumed by `holdfast sync`),',
      'durable (committed in the durable tier with the same manifest), durable-only',
      '(gone from the local tier) or conflict (the durable tier holds another',
      'checkpoint at that step). The state is read from the two stores each time.',
      'TAGS lists the names `holdfast tag` pinned to a checkpoint.',
      'JSON: an array of {step, path, bytes, files, createdAt, tags[, tier]}.',
    ].join('\n'),
    options: [JSON_OPTION, HELP_OPTION],
    exitCodes: [
      [0, 'listed (possibly nothing)'],
      [1, 'no store at <store>, or an I/O error'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('ls', argv, OPTIONS, { required: ['store'] });
    const store = await openExistingStore('ls', args.positionals[0]!, io);
    const list = await store.list();
    if (args.flag('json')) {
      printJson(io, list);
      return 0;
    }
    if (list.length === 0) {
      io.stderr(`holdfast ls: no committed checkpoints in ${store.root}`);
      return 0;
    }
    const rows = list.map((c) => [String(c.step), formatBytes(c.bytes), String(c.files), c.createdAt || '(unreadable manifest)', c.tags.join(','), ...(c.tier === undefined ? [] : [c.tier])]);
    const tiered = list.some((c) => c.tier !== undefined);
    for (const line of formatTable(['STEP', 'SIZE', 'FILES', 'CREATED', 'TAGS', ...(tiered ? ['TIER'] : [])], rows, [true, true, true, false, false, false])) io.stdout(escapeControl(line));
    return 0;
  },
};
