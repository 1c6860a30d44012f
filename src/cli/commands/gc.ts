/**
 * `holdfast gc <store> [--keep-last N] [--keep-every K] [--keep-best N --metric NAME --mode min|max]
 * [--keep-within DURATION] [--dry-run]`: applies a retention policy (rules combine: a checkpoint stays
 * when any rule keeps it), sweeps staging leftovers older than a grace period, and quarantines `ckpt-*`
 * directories without a manifest (store.gc, under the writer lease). Prints each removal, or with
 * `--dry-run` each verdict and why.
 */
import { invalidArg } from '../../errors.js';
import type { GcOptions, GcResult, RetentionVerdict } from '../../index.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { parseDuration } from '../../format/duration.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, escapeControl, formatHelp, printJson } from '../output.js';

const OPTIONS = {
  'keep-last': { type: 'string' },
  'keep-every': { type: 'string' },
  'keep-best': { type: 'string' },
  metric: { type: 'string' },
  mode: { type: 'string' },
  'keep-within': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'staging-grace': { type: 'string' },
  'durable-keep-last': { type: 'string' },
  'even-if-not-uploaded': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const gcCommand: Command = {
  name: 'gc',
  summary: 'apply a retention policy (keep last/every/best/within, tags) and sweep staging leftovers',
  help: formatHelp({
    usage: 'holdfast gc <store> [--keep-last <n>] [--keep-every <k>] [--keep-best <n> --metric <path> --mode min|max] [--keep-within <duration>] [--dry-run] [--staging-grace <seconds>] [--durable-keep-last <n>] [--even-if-not-uploaded] [--json]',
    description: [
      'Deletes the committed checkpoints no rule keeps. Rules combine: a checkpoint',
      'stays when any rule keeps it; at least one rule is required. Whatever the rules,',
      'gc never deletes the newest checkpoint that passes verification (finding it',
      'verifies, and quarantines failing newer ones as `holdfast latest` does), a',
      'tagged one (`holdfast tag`), or one whose files a kept incremental checkpoint',
      'references. A deletion un-commits the checkpoint first, then deletes its files,',
      'so a crash never leaves a committed checkpoint with files missing.',
      'Also removes leftovers of interrupted saves in .staging/ older than the grace',
      'period, and moves ckpt-* directories without a manifest to .quarantine/.',
      'gc takes the store\'s writer lease: it waits for a save in progress to finish.',
      '--dry-run changes nothing (no lease, no sweep) and prints every checkpoint that',
      'would go and why, and the rules that keep the others.',
      'A tiered store (LOCAL::DURABLE) is collected in both tiers, each under its own',
      'writer lease and with the guarantees above (the durable tier: old attempt objects',
      'and incomplete multipart uploads past the grace period go too). The local tier',
      'keeps every checkpoint the durable tier does not hold yet (local, uploading,',
      'conflict) unless --even-if-not-uploaded; the durable tier keeps every checkpoint',
      'the local tier keeps, and the local tier\'s tags. --durable-keep-last gives the',
      'durable tier its own keep-last (the other rules apply to both tiers).',
      'JSON: {"removedSteps", "removedStaging", "quarantined", "dryRun", "verdicts": [{step, keep, reasons: [{rule, detail}]}]};',
      'a tiered store adds "durable": the same for its durable tier.',
    ].join('\n'),
    options: [
      ['--keep-last <n>', 'keep the newest <n> checkpoints (integer >= 1)'],
      ['--keep-every <k>', 'keep every step that is a multiple of <k>'],
      ['--keep-best <n>', 'keep the best <n> by --metric (needs --metric and --mode)'],
      ['--metric <path>', 'dotted path to a number in the checkpoint\'s state, e.g. eval.loss'],
      ['--mode min|max', 'min: lower is better (a loss); max: higher is better (an accuracy)'],
      ['--keep-within <duration>', 'keep checkpoints created less than this long ago (90s, 30m, 12h, 7d, 2w, 1d12h)'],
      ['--dry-run', 'print what would be deleted and why; change nothing'],
      ['--staging-grace <seconds>', 'keep staging leftovers younger than this: they may belong to a paused save (default 600)'],
      ['--durable-keep-last <n>', 'tiered store: the durable tier keeps the newest <n> instead of --keep-last'],
      ['--even-if-not-uploaded', 'tiered store: the local tier may delete checkpoints the durable tier lacks'],
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
    const options = gcOptionsFrom(args);
    const store = await openExistingStore('gc', args.positionals[0]!, io);
    const result = await store.gc(options);
    if (args.flag('json')) {
      printJson(io, result);
      return 0;
    }
    const tiers: [string, GcResult][] = result.durable === undefined ? [['', result]] : [['local: ', result], ['durable: ', result.durable]];
    if (result.dryRun) {
      for (const [tier, r] of tiers) for (const v of r.verdicts) io.stdout(escapeControl(tier + describeVerdict(v)));
      if (tiers.every(([, r]) => r.removedSteps.length === 0)) io.stderr('holdfast gc: dry run, nothing would be removed');
      return 0;
    }
    let any = false;
    for (const [tier, r] of tiers) {
      for (const step of r.removedSteps) io.stdout(`${tier}removed checkpoint ${step}`);
      for (const p of r.removedStaging) io.stdout(`${tier}removed leftover ${p}`);
      for (const p of r.quarantined) io.stdout(`${tier}quarantined ${p}`);
      any ||= r.removedSteps.length + r.removedStaging.length + r.quarantined.length > 0;
    }
    if (!any) io.stderr('holdfast gc: nothing to remove');
    return 0;
  },
};

function gcOptionsFrom(args: ReturnType<typeof parseCommandArgs>): GcOptions {
  const options: GcOptions = {};
  const keepLast = args.integer('keep-last', 1);
  const keepEvery = args.integer('keep-every', 1);
  const keepBest = args.integer('keep-best', 1);
  const within = args.string('keep-within');
  const grace = args.integer('staging-grace', 0);
  if (keepLast !== undefined) options.keepLast = keepLast;
  if (keepEvery !== undefined) options.keepEvery = keepEvery;
  if (keepBest !== undefined) {
    const metric = args.requiredString('metric');
    const mode = args.requiredString('mode');
    if (mode !== 'min' && mode !== 'max') throw invalidArg(`--mode must be min or max, got ${JSON.stringify(mode)}`);
    options.keepBest = { count: keepBest, metric, mode };
  } else if (args.string('metric') !== undefined || args.string('mode') !== undefined) {
    throw invalidArg('--metric and --mode go with --keep-best <n>');
  }
  if (within !== undefined) options.keepWithinMs = parseDuration('--keep-within', within);
  if (options.keepLast === undefined && options.keepEvery === undefined && options.keepBest === undefined && options.keepWithinMs === undefined) {
    throw invalidArg("gc needs at least one retention rule: --keep-last, --keep-every, --keep-best or --keep-within (see 'holdfast gc --help')");
  }
  if (grace !== undefined) options.stagingGraceMs = grace * 1000;
  if (args.flag('dry-run')) options.dryRun = true;
  const durableKeepLast = args.integer('durable-keep-last', 1);
  if (durableKeepLast !== undefined) {
    const { stagingGraceMs: _g, dryRun: _d, ...rules } = options;
    options.durable = { ...rules, keepLast: durableKeepLast };
  }
  if (args.flag('even-if-not-uploaded')) options.evenIfNotUploaded = true;
  return options;
}

/** `would delete 3: older than the newest 2; not a multiple of 100` / `keep 4: keep-last (among the newest 2)`. */
function describeVerdict(v: RetentionVerdict): string {
  if (!v.keep) return `would delete ${v.step}: ${v.reasons.map((r) => r.detail).join('; ')}`;
  return `keep ${v.step}: ${v.reasons.map((r) => `${r.rule} (${r.detail})`).join('; ')}`;
}
