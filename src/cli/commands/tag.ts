/**
 * `holdfast tag <store> <step> <name>` and `holdfast untag <store> <name>`: pin a name to a
 * committed checkpoint so that retention never deletes it (store.tag / store.untag, under the
 * writer lease). `holdfast ls` shows the tags.
 */
import { parseCommandArgs, parseInteger } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, escapeControl, formatHelp, printJson } from '../output.js';

const OPTIONS = { json: { type: 'boolean' } } as const;
const NAME_RULE = 'a tag name is 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit';

export const tagCommand: Command = {
  name: 'tag',
  summary: 'pin a name to a checkpoint; retention never deletes a tagged one',
  help: formatHelp({
    usage: 'holdfast tag <store> <step> <name> [--json]',
    description: [
      'Tags committed checkpoint <step> with <name>. Retention (`holdfast gc`, or the',
      'store\'s retention option) never deletes a tagged checkpoint. A name names one',
      'step; to move it, `holdfast untag` it first. Tagging the same step again is a',
      `no-op. ${NAME_RULE}. Takes the writer lease.`,
      'JSON: {"step", "tag"}.',
    ].join('\n'),
    options: [JSON_OPTION, HELP_OPTION],
    exitCodes: [
      [0, 'tagged'],
      [1, 'no store, no committed checkpoint <step>, or an I/O error'],
      [2, 'usage error (bad step or name, or the name already tags another step)'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('tag', argv, OPTIONS, { required: ['store', 'step', 'name'] });
    const step = parseInteger('<step>', args.positionals[1]!);
    const name = args.positionals[2]!;
    const store = await openExistingStore('tag', args.positionals[0]!, io);
    await store.tag(step, name);
    if (args.flag('json')) printJson(io, { step, tag: name });
    else io.stdout(escapeControl(`tagged checkpoint ${step} as ${name}`));
    return 0;
  },
};

export const untagCommand: Command = {
  name: 'untag',
  summary: 'remove a tag; the checkpoint becomes subject to retention again',
  help: formatHelp({
    usage: 'holdfast untag <store> <name> [--json]',
    description: ['Removes tag <name>. Takes the writer lease.', 'JSON: {"step", "tag"}: the step the tag named.'].join('\n'),
    options: [JSON_OPTION, HELP_OPTION],
    exitCodes: [
      [0, 'untagged'],
      [1, 'no store, no such tag, or an I/O error'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('untag', argv, OPTIONS, { required: ['store', 'name'] });
    const name = args.positionals[1]!;
    const store = await openExistingStore('untag', args.positionals[0]!, io);
    const step = await store.untag(name);
    if (args.flag('json')) printJson(io, { step, tag: name });
    else io.stdout(escapeControl(`removed tag ${name} from checkpoint ${step}`));
    return 0;
  },
};
