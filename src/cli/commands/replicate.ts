/**
 * `holdfast replicate <from> <to> [--step <n>] [--json]`: copies committed
 * checkpoints from one store to another (replicate()): local ↔ S3, S3 ↔ S3,
 * local ↔ local. Progress on a terminal; one line per step and a final line
 * on stderr otherwise.
 */
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { invalidArg } from '../../errors.js';
import { parseTieredSpec } from '../open.js';
import { HELP_OPTION, JSON_OPTION, escapeControl, formatBytes, formatHelp, printJson } from '../output.js';
import { TransferMeter } from '../transfer-meter.js';
import { replicate } from '../../index.js';

const OPTIONS = { step: { type: 'string' }, json: { type: 'boolean' } } as const;

export const replicateCommand: Command = {
  name: 'replicate',
  summary: 'copy committed checkpoints between two stores (local, S3), verified, resumable',
  help: formatHelp({
    usage: 'holdfast replicate <from> <to> [--step <n>] [--json]',
    description: [
      'Copies every committed checkpoint of <from> (or only --step <n>) into <to>,',
      'oldest first. Each store is a directory or an s3://bucket/prefix URL; <to> is',
      'created if it is a missing directory. A checkpoint is copied byte for byte',
      '(the same manifest, nonce and hashes): every byte is read from <from> and',
      'checked against its manifest before <to> makes it visible, and checked on',
      'arrival (a directory hashes what it wrote; S3 reports each object\'s size',
      'and ETag). Each is committed with <to>\'s exclusive commit under its writer',
      'lease. A step <to> already holds with the same manifest is skipped',
      '(present); one it holds with another manifest is reported (conflict) and',
      'left as it is. A copy to S3 that was interrupted resumes: parts already',
      'there with the MD5 of the source bytes are not sent again.',
      'Prints one line per step on stderr, then a final line; with a terminal,',
      'progress (bytes, rate, time left). JSON: {"from", "to", "results":',
      '[{step, outcome, bytes, sentBytes, ...}], "sentBytes"}.',
    ].join('\n'),
    options: [
      ['--step <n>', 'copy only checkpoint <n>'],
      JSON_OPTION,
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'every checkpoint is in <to> (copied now, or already present)'],
      [1, 'a checkpoint failed (damaged in <from>, I/O error) or conflicts; the others were copied'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('replicate', argv, OPTIONS, { required: ['from', 'to'] });
    const [from, to] = args.positionals as [string, string];
    for (const s of [from, to]) if (parseTieredSpec(s) !== undefined) throw invalidArg(`replicate copies between single stores; name one tier of ${JSON.stringify(s)} (or use holdfast sync)`);
    const step = args.integer('step');
    const json = args.flag('json');
    const meter = new TransferMeter(io);
    const report = await replicate(from, to, {
      ...(step === undefined ? {} : { steps: [step] }),
      onProgress: (p) => (json ? undefined : meter.update(`replicate ${p.step}`, p)),
      onStep: (r) => {
        if (json) return;
        const detail = r.outcome === 'failed' ? `: ${r.message}` : r.note === undefined ? '' : `: ${r.note}`;
        io.stderr(escapeControl(`holdfast replicate: step ${r.step} ${r.outcome}${detail}`));
      },
    });
    if (json) printJson(io, report);
    else {
      const total = report.results.reduce((s, r) => s + r.bytes, 0);
      io.stderr(escapeControl(`holdfast replicate: ${report.results.length} checkpoint(s), ${formatBytes(total)}, ${report.from} -> ${report.to}; ${meter.summary(report.sentBytes)}`));
    }
    const bad = report.results.filter((r) => r.outcome === 'failed' || r.outcome === 'conflict' || r.outcome === 'missing');
    return bad.length > 0 ? 1 : 0;
  },
};
