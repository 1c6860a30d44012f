/**
 * `holdfast verify <store> [--step <n>] [--json]`: full verification of one
 * or every committed checkpoint (store.verify: manifest, sizes, SHA-256 of
 * every byte, shard headers). Reports each problem with its file and
 * reason; changes nothing on disk (no quarantine: that is `latest`'s job).
 */
import { HoldfastError } from '../../index.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, printJson } from '../output.js';

const OPTIONS = { step: { type: 'string' }, json: { type: 'boolean' } } as const;

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'fully verify one or all checkpoints (read-only)',
  help: formatHelp({
    usage: 'holdfast verify <store> [--step <n>] [--json]',
    description: [
      'Checks every committed checkpoint (or only <n>): the manifest, then each',
      "file's presence, size, SHA-256 and shard header. Prints one line per",
      'checkpoint, "ok" or "FAILED", and under a failure one line per problem:',
      'the file, the reason (missing, size, hash, bad-manifest, bad-header,',
      'not-a-file, foreign-shard) and what was found. Changes nothing on disk.',
      'JSON: {"ok": bool, "checkpoints": [{step, path, ok, problems: [{file, reason, message}]}]}.',
    ].join('\n'),
    options: [
      ['--step <n>', 'verify only checkpoint <n> (default: all)'],
      JSON_OPTION,
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'every checkpoint verified'],
      [1, 'a checkpoint failed verification, no checkpoint <n>, no store, or an I/O error'],
      [2, 'usage error'],
      [3, 'the store holds no committed checkpoint'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('verify', argv, OPTIONS, { required: ['store'] });
    const step = args.integer('step');
    const store = await openExistingStore('verify', args.positionals[0]!, io);
    const reports = await store.verify(step);
    if (reports.length === 0) throw new HoldfastError('HF_NO_VALID_CHECKPOINT', `no committed checkpoints in ${store.root}`, { path: store.root });
    const failed = reports.filter((r) => !r.ok);
    if (args.flag('json')) {
      printJson(io, { ok: failed.length === 0, checkpoints: reports });
    } else {
      for (const r of reports) {
        io.stdout(`${r.step}  ${r.ok ? 'ok' : 'FAILED'}  ${r.path}`);
        for (const p of r.problems) io.stdout(`    ${p.file}: ${p.reason}: ${p.message}`);
      }
      if (failed.length > 0) {
        io.stderr(`holdfast verify: ${failed.length} of ${reports.length} checkpoint(s) failed verification: step ${failed.map((r) => r.step).join(', ')}`);
      }
    }
    return failed.length === 0 ? 0 : 1;
  },
};
