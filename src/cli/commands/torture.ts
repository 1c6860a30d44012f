/**
 * `holdfast torture <kill|powerloss|corrupt|ioerror|all> [--mode m[,m…]] [--trials N]
 *   [--seed S] [--dir D] [--full] [--class c[,c…]] [--json] [--report out.html] [--log out.jsonl]`:
 * runs the fault campaigns (DESIGN §9) and judges Holdfast's guarantees:
 * exit 1 when any required one broke, each violation printed with its seed
 * and the command that replays it. Progress goes to stderr, so with --json
 * stdout stays one JSON document.
 */
import { tmpdir } from 'node:os';
import { posix as path } from 'node:path';
import { invalidArg } from '../../errors.js';
import { statOrUndefined, writeNewFile } from '../../fs/file-utils.js';
import { PosixFileSystem } from '../../fs/posix-file-system.js';
import { describeMachine } from '../../bench/machine.js';
import { DURABILITY_MODES, type DurabilityMode } from '../../index.js';
import type { CampaignName, CampaignResult, CampaignRow } from '../../torture/campaign.js';
import { FAULT_VARIANTS } from '../../torture/corruption/index.js';
import { renderTortureReport } from '../../torture/report-html.js';
import { CAMPAIGN_NAMES, POWERLOSS_SHAPES, runCampaign } from '../../torture/run-campaign.js';
import { CONCURRENT_FULL, CONCURRENT_QUICK, CONCURRENT_VARIANTS, runConcurrentCampaign, type ConcurrentVariant } from '../../torture/concurrent-campaign.js';
import { formatPercent } from '../../torture/wilson.js';
import { runS3Torture } from './torture-s3.js';
import { RANKS_HELP, runRanks } from './torture-ranks.js';
import { parseCommandArgs, parseInteger } from '../args.js';
import type { CliIo, Command } from '../command.js';
import { HELP_OPTION, formatBytes, formatHelp, formatTable } from '../output.js';

const OPTIONS = {
  mode: { type: 'string' },
  trials: { type: 'string' },
  seed: { type: 'string' },
  dir: { type: 'string' },
  full: { type: 'boolean' },
  class: { type: 'string' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  log: { type: 'string' },
  shape: { type: 'string' },
  encrypted: { type: 'boolean' },
  keyless: { type: 'boolean' },
} as const;

const CONCURRENT_OPTIONS = {
  seed: { type: 'string' }, dir: { type: 'string' }, full: { type: 'boolean' }, rounds: { type: 'string' }, duration: { type: 'string' },
  workers: { type: 'string' }, variant: { type: 'string' }, round: { type: 'string' }, json: { type: 'boolean' }, report: { type: 'string' },
} as const;

const PROGRESS_EVERY_MS = 5000;

export const tortureCommand: Command = {
  name: 'torture',
  summary: 'run the kill, power-loss, corruption and I/O-error campaigns and judge the guarantees',
  help: formatHelp({
    usage: 'holdfast torture <kill|powerloss|corrupt|ioerror|concurrent|s3|ranks|all>[,…] [--mode <m>[,<m>…]] [--trials <n>] [--seed <s>] [--dir <dir>] [--full] [--class <c>[,<c>…]] [--encrypted [--keyless]] [--shape <s>[,<s>…]] [--json] [--report <out.html>] [--log <out.jsonl>]',
    description: [
      'Runs fault campaigns against Holdfast and reports each guarantee as k/n with a',
      '95 % Wilson interval:',
      '  kill       a child process saves checkpoints in a loop (16 KiB–40 MiB, 2–4 shard',
      '             files) and is SIGKILLed at a seeded instant: a uniform delay, right after',
      '             a commit, or right after its n-th fsync/rename/create; then restore must',
      '             return the newest committed checkpoint bit-exact (atomic modes) and never',
      '             torn bytes (every mode). Also reports what the kill left on disk.',
      '  powerloss  every prefix of a save\'s file-system calls, and the states a file system',
      '             may be left in by a power cut there, restored in memory. Shapes: 1-shard,',
      '             4-shards, after-2-commits, commit-files, direct-1mib (--full), and 4-ranks: a',
      '             4-rank save (rank files, rank records, the leader\'s epoch record, manifest and',
      '             commit) where the oracle also checks every rank and epoch record is whole or',
      '             absent, the epochs fencing rests on survive, and a next incarnation resumes.',
      '  corrupt    ~67 fault variants (bit flips, bursts, zeroed and garbage sectors,',
      '             truncation, extension, missing files, stale and swapped shards, manifest',
      '             and header edits, …) on committed checkpoints: verify must flag 100 %,',
      '             latest/restore roll back bit-exact, and benign changes raise no alarm.',
      '  ioerror    EIO/ENOSPC/EDQUOT injected at every call of a save.',
      '  all        the four in turn (or name several: kill,corrupt).',
      '  concurrent several real processes save (sync and async, every mode), gc, restore,',
      '             verify and ask latest on one store while being SIGKILLed and SIGSTOPped;',
      '             on the normal file system and a nearly full tmpfs (root only). Own options:',
      '             [--full] [--rounds <n>] [--duration <ms>] [--workers <n>] [--variant',
      '             normal|nearly-full] [--round <r>] [--seed <s>] [--dir <dir>] [--json] [--report <f>].',
      '  s3         saves to a real S3-compatible server (AWS_ENDPOINT_URL, plain HTTP) through a',
      '             fault proxy that drops connections mid-body, answers 500/503/SlowDown, delays,',
      '             flips a body byte and loses PUT responses; saver processes SIGKILLed at random;',
      '             two writers racing for a step; a tiered store\'s background uploader SIGKILLed',
      '             mid-upload, then resumed (tier-kill). Own options: [--full] [--trials <n>] [--class',
      '             c[,c…]] [--trial <t>] [--store s3://bucket/prefix] [--seed <s>] [--dir <local tiers>]',
      '             [--json] [--report <f>]; without --store it uses a bucket of its own, deleted after.',
      ...RANKS_HELP,
      'Without --full the quick configuration runs (the CI one, about a minute in all);',
      '--full runs the counts docs/RELIABILITY.md reports (kill: 2,000 per mode, about an',
      'hour; corrupt: 500 per variant and 2,000 per key class, a few minutes).',
      'Prints a table per campaign and every violation with its seed and a replay command.',
      'JSON: {"ok": bool, "seed": s, "full": bool, "campaigns": [CampaignResult…]}.',
    ].join('\n'),
    options: [
      ['--mode <m>[,<m>…]', `durability modes (${DURABILITY_MODES.join(', ')}); default all three`],
      ['--trials <n>', 'override the preset: kills per mode, trials per corrupt variant, random states per crash point (powerloss), failure points per save (ioerror)'],
      ['--seed <s>', 'campaign seed (default 1); every trial is drawn from it and replays from it'],
      ['--dir <dir>', `scratch directory on the disk under test (kill only; default ${tmpdir()}); what it creates is removed`],
      ['--full', 'full-scale counts instead of the quick configuration'],
      ['--class <c>[,<c>…]', 'corrupt only: variants by name, class id (C8) or prefix (bit-flip); default all'],
      ['--encrypted', 'corrupt only: the fixture\'s checkpoints saved with an encryption key, every trial\'s store opened with it (restore decrypts)'],
      ['--keyless', 'with --encrypted: verify and latest run without the key (digests of the stored bytes only), restore with it'],
      ['--json', 'print the results as one JSON document on stdout'],
      ['--report <out.html>', 'also write a self-contained HTML report with SVG charts (opens offline)'],
      ['--shape <s>[,<s>…]', `powerloss only: save shapes (${[...POWERLOSS_SHAPES].join(', ')}); default the preset's`],
      ['--log <out.jsonl>', 'kill and corrupt: write one JSON line per trial (seed, plan or class, file, offset, length, outcome)'],
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'every required guarantee held'],
      [1, 'a required guarantee was violated (each violation is printed), or the campaign failed to run'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    if (argv[0] === 'concurrent') return runConcurrent(argv, io);
    if (argv[0] === 's3') return runS3Torture(argv, io, printCampaign);
    if (argv[0] === 'ranks') return runRanks(argv, io);
    const args = parseCommandArgs('torture', argv, OPTIONS, { required: ['campaign'] });
    const names = parseCampaigns(args.positionals[0]!);
    const modes = parseModes(args.string('mode'));
    const trials = args.integer('trials', 1);
    const seedText = args.string('seed');
    const seed = seedText === undefined ? 1 : parseInteger('--seed', seedText);
    const full = args.flag('full');
    const classes = parseClasses(args.string('class'), names);
    const shapes = parseShapes(args.string('shape'), names);
    const encrypted = args.flag('encrypted');
    if (encrypted && !names.includes('corrupt')) throw invalidArg('--encrypted applies to the corrupt campaign only');
    const keyless = args.flag('keyless');
    if (keyless && !encrypted) throw invalidArg('--keyless applies with --encrypted only');
    const reportPath = nonEmpty('report', args.string('report'));
    const logPath = nonEmpty('log', args.string('log'));
    const workDir = path.resolve(args.string('dir') ?? tmpdir());
    const fs = new PosixFileSystem();
    if ((await statOrUndefined(fs, workDir))?.type !== 'directory') throw invalidArg(`--dir ${workDir} is not a directory`);

    const log: string[] = [];
    const results: CampaignResult[] = [];
    for (const name of names) {
      io.stderr(`holdfast torture: ${name} (${full ? 'full' : 'quick'}, seed ${seed}) …`);
      const result = await runCampaign({
        name,
        full,
        seed,
        workDir,
        ...(modes !== undefined ? { modes } : {}),
        ...(trials !== undefined ? { trials } : {}),
        ...(classes !== undefined && name === 'corrupt' ? { classes } : {}),
        ...(encrypted && name === 'corrupt' ? { encrypted, keyless } : {}),
        ...(shapes !== undefined && name === 'powerloss' ? { shapes } : {}),
        onProgress: progressReporter(io, name),
        ...(logPath !== undefined ? { onTrial: (r: unknown) => log.push(JSON.stringify(r)) } : {}),
      });
      io.progress?.('');
      results.push(result);
      io.stderr(`holdfast torture: ${name} done in ${(result.durationMs / 1000).toFixed(1)} s: ${result.violations.length === 0 ? 'PASS' : `FAIL, ${result.violations.length} violation(s)`}`);
    }

    if (reportPath !== undefined) {
      const machine = await describeMachine(workDir);
      const html = renderTortureReport(results, {
        command: `holdfast torture ${argv.join(' ')}`,
        generatedAt: new Date().toISOString(),
        machine: {
          cores: String(machine.cores),
          memory: formatBytes(machine.memoryBytes),
          cpu: machine.cpu,
          kernel: machine.kernel,
          node: machine.node,
          'file system (--dir)': `${workDir}: ${machine.mount}`,
        },
      });
      await replaceFile(fs, path.resolve(reportPath), html);
      io.stderr(`holdfast torture: report written to ${path.resolve(reportPath)} (${formatBytes(html.length)})`);
    }
    if (logPath !== undefined) {
      await replaceFile(fs, path.resolve(logPath), log.join('\n') + (log.length > 0 ? '\n' : ''));
      io.stderr(`holdfast torture: ${log.length} trial records written to ${path.resolve(logPath)}`);
    }

    const violations = results.reduce((n, r) => n + r.violations.length, 0);
    if (args.flag('json')) {
      io.stdout(JSON.stringify({ ok: violations === 0, seed, full, campaigns: results }, null, 2));
      if (violations > 0) io.stderr(`holdfast torture: ${violations} violation(s); see "violations" in the JSON`);
    } else {
      for (const r of results) printCampaign(io, r);
      io.stdout(violations === 0 ? 'All required guarantees held.' : `${violations} violation(s) of required guarantees.`);
    }
    return violations === 0 ? 0 : 1;
  },
};

/** `holdfast torture concurrent …`: its own options (rounds and durations, not trials per mode). */
async function runConcurrent(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('torture concurrent', argv.slice(1), CONCURRENT_OPTIONS, { required: [] });
  const preset = args.flag('full') ? CONCURRENT_FULL : CONCURRENT_QUICK;
  const variant = args.string('variant');
  if (variant !== undefined && !CONCURRENT_VARIANTS.includes(variant as ConcurrentVariant)) throw invalidArg(`--variant must be one of ${CONCURRENT_VARIANTS.join(', ')}`);
  const seed = args.integer('seed') ?? 1;
  const round = args.integer('round');
  const workDir = path.resolve(args.string('dir') ?? tmpdir());
  if ((await statOrUndefined(new PosixFileSystem(), workDir))?.type !== 'directory') throw invalidArg(`--dir ${workDir} is not a directory`);
  io.stderr(`holdfast torture: concurrent (${args.flag('full') ? 'full' : 'quick'}, seed ${seed}) …`);
  const result = await runConcurrentCampaign({
    ...preset,
    seed,
    workDir,
    rounds: args.integer('rounds', 1) ?? preset.rounds,
    roundMs: args.integer('duration', 500) ?? preset.roundMs,
    workers: args.integer('workers', 1) ?? preset.workers,
    ...(variant !== undefined ? { variants: [variant as ConcurrentVariant] } : {}),
    ...(round !== undefined ? { onlyRound: round } : {}),
    onProgress: progressReporter(io, 'concurrent'),
  });
  io.progress?.('');
  const reportPath = nonEmpty('report', args.string('report'));
  if (reportPath !== undefined) {
    // The report reads `campaign` as a label only; 'concurrent' is not one of CampaignName yet.
    const html = renderTortureReport([result as unknown as CampaignResult], { command: `holdfast torture ${argv.join(' ')}`, generatedAt: new Date().toISOString() });
    await replaceFile(new PosixFileSystem(), path.resolve(reportPath), html);
  }
  if (args.flag('json')) io.stdout(JSON.stringify({ ok: result.violations.length === 0, seed, campaigns: [result] }, null, 2));
  else printCampaign(io, result);
  return result.violations.length === 0 ? 0 : 1;
}

/** `all`, one name, or a comma list (`kill,corrupt`: one run, one table, one report). */
function parseCampaigns(text: string): CampaignName[] {
  if (text === 'all') return [...CAMPAIGN_NAMES];
  const names = text.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!CAMPAIGN_NAMES.includes(n as CampaignName)) throw invalidArg(`unknown campaign ${JSON.stringify(n)}: expected ${CAMPAIGN_NAMES.join(', ')} or all (or a comma list)`);
  }
  return [...new Set(names)] as CampaignName[];
}

function nonEmpty(name: string, v: string | undefined): string | undefined {
  if (v !== undefined && v.length === 0) throw invalidArg(`--${name} must not be empty`);
  return v;
}

function parseModes(text: string | undefined): DurabilityMode[] | undefined {
  if (text === undefined) return undefined;
  const modes = text.split(',').map((m) => m.trim()).filter((m) => m.length > 0);
  if (modes.length === 0) throw invalidArg('--mode needs at least one mode');
  for (const m of modes) {
    if (!DURABILITY_MODES.includes(m as DurabilityMode)) throw invalidArg(`--mode: unknown mode ${JSON.stringify(m)}; expected ${DURABILITY_MODES.join(', ')}`);
  }
  return [...new Set(modes)] as DurabilityMode[];
}

function parseClasses(text: string | undefined, names: CampaignName[]): string[] | undefined {
  if (text === undefined) return undefined;
  if (!names.includes('corrupt')) throw invalidArg('--class applies to the corrupt campaign only');
  const classes = text.split(',').map((c) => c.trim()).filter((c) => c.length > 0);
  for (const c of classes) {
    if (!FAULT_VARIANTS.some((v) => v.name === c || v.classId === c || v.name.startsWith(c))) {
      throw invalidArg(`--class: unknown corruption class ${JSON.stringify(c)}; known classes: ${[...new Set(FAULT_VARIANTS.map((v) => v.classId))].join(', ')}; variants: see 'holdfast torture corrupt --json'`);
    }
  }
  return classes;
}

function parseShapes(text: string | undefined, names: CampaignName[]): string[] | undefined {
  if (text === undefined) return undefined;
  if (!names.includes('powerloss')) throw invalidArg('--shape applies to the powerloss campaign only');
  const shapes = [...new Set(text.split(',').map((c) => c.trim()).filter((c) => c.length > 0))];
  if (shapes.length === 0) throw invalidArg('--shape needs at least one shape');
  for (const s of shapes) if (!POWERLOSS_SHAPES.includes(s)) throw invalidArg(`--shape: unknown save shape ${JSON.stringify(s)}; known: ${POWERLOSS_SHAPES.join(', ')}`);
  return shapes;
}

/** In place on a terminal; otherwise one line every few seconds, so logs show the campaign is alive. */
function progressReporter(io: CliIo, name: string): (done: number, total: number, label: string) => void {
  let last = Date.now();
  return (done, total, label) => {
    const text = `${name}: ${done}/${total} (${Math.floor((100 * done) / Math.max(1, total))}%) ${label}`;
    if (io.progress !== undefined) {
      io.progress(text);
    } else if (Date.now() - last >= PROGRESS_EVERY_MS) {
      last = Date.now();
      io.stderr(`holdfast torture: ${text}`);
    }
  };
}

async function replaceFile(fs: PosixFileSystem, p: string, text: string): Promise<void> {
  if ((await statOrUndefined(fs, p)) !== undefined) await fs.unlink(p);
  await writeNewFile(fs, p, new TextEncoder().encode(text), { sync: false });
}

function outcomesText(r: CampaignRow): string {
  return Object.entries(r.outcomes)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function printCampaign(io: CliIo, r: Omit<CampaignResult, 'campaign'> & { campaign: string }): void {
  io.stdout('');
  io.stdout(`== ${r.campaign}: ${r.violations.length === 0 ? 'PASS' : 'FAIL'} (seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s)`);
  const rows = r.rows.map((row) => {
    const g = row.guarantee;
    const verdict = !row.required ? 'reported' : g.k === g.n ? 'ok' : 'VIOLATED';
    return [row.group, String(row.trials), `${g.k}/${g.n}`, formatPercent(g.rate), `${formatPercent(g.lower)} – ${formatPercent(g.upper)}`, verdict, outcomesText(row)];
  });
  for (const line of formatTable(['group', 'trials', 'k/n', 'rate', '95 % Wilson', '', 'outcomes'], rows, [false, true, true, true, false, false, false])) io.stdout(line);
  const counters = Object.entries(r.counters);
  if (counters.length > 0) io.stdout(`counters: ${counters.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const n of r.notes) io.stdout(`note: ${n}`);
  for (const v of r.violations) {
    io.stdout(`VIOLATION ${v.group} trial ${v.trial} seed ${v.seed}: ${v.description}`);
    io.stdout(`  replay: ${v.replay}`);
  }
}
