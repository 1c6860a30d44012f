/**
 * `holdfast interval <store> --mtbf <duration>`: how often to checkpoint
 * (store.adviseInterval). The save costs come from the store's manifests; the
 * failure rate and restart cost from the caller, who knows the cluster.
 */
import { formatDuration, parseDuration } from '../../format/duration.js';
import type { IntervalAdvice } from '../../index.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, formatTable, printJson } from '../output.js';

const OPTIONS = { mtbf: { type: 'string' }, 'restart-cost': { type: 'string' }, 'restore-cost': { type: 'string' }, json: { type: 'boolean' } } as const;

export const intervalCommand: Command = {
  name: 'interval',
  summary: 'the checkpoint interval that loses the least time, from the measured save costs',
  help: formatHelp({
    usage: 'holdfast interval <store> --mtbf <duration> [--restart-cost <duration>] [--restore-cost <duration>] [--json]',
    description: [
      'Reads the save costs the newest checkpoints recorded (training pause and time to',
      'commit, manifest 2.0) and prints the Young and Daly optimal intervals beside the',
      'interval the store shows (median gap between checkpoints), each with the expected',
      'fraction of time lost: pauses + rework after a failure + restart and restore.',
      'Durations: 90s, 15m, 2h, 1d, 1h30m (a bare number is seconds).',
      'Without --restore-cost the restore is estimated as the median save time.',
      'JSON: {measured: {pauseMs, writeMs, currentIntervalMs, samples}, restoreMs,',
      'restoreEstimated, rows: [{rule, intervalMs, pauseFraction, reworkFraction,',
      'restartFraction, lostFraction, note?}]}.',
    ].join('\n'),
    options: [
      ['--mtbf <duration>', 'mean time between failures of the whole job (required)'],
      ['--restart-cost <duration>', 'time to get the job running again before the restore (default 0)'],
      ['--restore-cost <duration>', 'time to restore a checkpoint (default: estimated)'],
      JSON_OPTION,
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'shown'],
      [1, 'no store, no checkpoint with recorded timing, or an I/O error'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('interval', argv, OPTIONS, { required: ['store'] });
    const mtbfMs = parseDuration('--mtbf', args.requiredString('mtbf'));
    const restart = args.string('restart-cost');
    const restore = args.string('restore-cost');
    const store = await openExistingStore('interval', args.positionals[0]!, io);
    try {
      const advice = await store.adviseInterval({
        mtbfMs,
        ...(restart === undefined ? {} : { restartMs: parseDuration('--restart-cost', restart) }),
        ...(restore === undefined ? {} : { restoreMs: parseDuration('--restore-cost', restore) }),
      });
      if (args.flag('json')) printJson(io, advice);
      else printAdvice(io.stdout, advice);
    } finally {
      await store.close();
    }
    return 0;
  },
};

function percent(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

function printAdvice(out: (line: string) => void, a: IntervalAdvice): void {
  const m = a.measured;
  out(`measured over ${m.samples} checkpoint(s): pause ${formatDuration(m.pauseMs)}, commit after ${formatDuration(m.writeMs)}, restore ${formatDuration(a.restoreMs)}${a.restoreEstimated ? ' (estimated)' : ''}`);
  const rows = a.rows.map((r) => [r.rule, formatDuration(r.intervalMs), percent(r.pauseFraction), percent(r.reworkFraction), percent(r.restartFraction), percent(r.lostFraction)]);
  for (const line of formatTable(['RULE', 'INTERVAL', 'PAUSES', 'REWORK', 'RESTART', 'LOST'], rows, [false, true, true, true, true, true])) out(line);
  for (const r of a.rows) if (r.note !== undefined) out(`${r.rule}: ${r.note}`);
  if (m.currentIntervalMs === undefined) out('current: fewer than two checkpoints with timing, no interval to compare');
}
