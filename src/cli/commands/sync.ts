/**
 * `holdfast sync <local>::<durable> [--json]`: uploads every checkpoint of a
 * tiered store's local tier that its durable tier lacks, newest first,
 * resuming uploads a killed process left (store.sync). Progress on a
 * terminal; one final line otherwise.
 */
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { invalidArg } from '../../errors.js';
import { parseTieredSpec } from '../open.js';
import { HELP_OPTION, JSON_OPTION, escapeControl, formatBytes, formatHelp, printJson } from '../output.js';
import { TransferMeter } from '../transfer-meter.js';
import { openStore, type TieredStore } from '../../index.js';

const OPTIONS = { json: { type: 'boolean' } } as const;

export const syncCommand: Command = {
  name: 'sync',
  summary: "upload a tiered store's local checkpoints its durable tier lacks (resumes)",
  help: formatHelp({
    usage: 'holdfast sync <local>::<durable> [--json]',
    description: [
      'A tiered store is named LOCAL::DURABLE: a local directory and the durable',
      'store its checkpoints are uploaded to (an s3://bucket/prefix URL or another',
      'directory), e.g. /nvme/run1::s3://bucket/run1. Every command that takes a',
      'store takes this form; `holdfast ls` then shows each checkpoint\'s tier:',
      'local, uploading, durable, durable-only (gone locally) or conflict. Its',
      'local directory is created if missing: a replaced node restores from the',
      'durable tier. Only sync and commit upload; readers (ls, verify, …) never do.',
      '',
      'sync uploads every committed local checkpoint the durable tier does not',
      'hold, newest first. Each is re-read and verified against its manifest as it',
      'is sent, and committed with the durable store\'s exclusive commit. An upload',
      'a killed process left is resumed: parts the server already holds with the',
      'same MD5 as the local bytes are not sent again. A checkpoint the durable',
      'tier holds with another manifest is reported (conflict), never overwritten.',
      'Progress (bytes, rate, time left) on a terminal; one final line on stderr.',
      'JSON: {"results": [{step, outcome, bytes, sentBytes}], "failed": []}; a',
      'failed upload is an error (HF_IO) naming each step and why.',
    ].join('\n'),
    options: [JSON_OPTION, HELP_OPTION],
    exitCodes: [
      [0, 'every local checkpoint is durable (or was gone by the time it was reached)'],
      [1, 'an upload failed or conflicts (the local checkpoints stay valid), or an I/O error'],
      [2, 'usage error (the store is not LOCAL::DURABLE)'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('sync', argv, OPTIONS, { required: ['store'] });
    const spec = parseTieredSpec(args.positionals[0]!);
    if (spec === undefined) throw invalidArg(`sync needs a tiered store LOCAL::DURABLE, got ${JSON.stringify(args.positionals[0])}`);
    const meter = new TransferMeter(io);
    const json = args.flag('json');
    const store = (await openStore(
      { ...spec, upload: 'manual' },
      { create: true, onEvent: (e) => (e.type === 'progress' && !json ? meter.update(e.phase, e) : undefined) },
    )) as TieredStore;
    try {
      const report = await store.sync();
      const conflicts = report.results.filter((r) => r.outcome === 'conflict');
      if (json) printJson(io, report);
      else {
        for (const r of report.results) io.stderr(escapeControl(`holdfast sync: step ${r.step} ${r.outcome}${r.note === undefined ? '' : `: ${r.note}`}`));
        const sent = report.results.reduce((s, r) => s + r.sentBytes, 0);
        const total = report.results.reduce((s, r) => s + r.bytes, 0);
        io.stderr(`holdfast sync: ${report.results.length} checkpoint(s), ${formatBytes(total)}; ${meter.summary(sent)}`);
      }
      return conflicts.length > 0 ? 1 : 0;
    } finally {
      await store.close().catch(() => undefined);
    }
  },
};
