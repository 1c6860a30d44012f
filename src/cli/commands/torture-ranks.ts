/**
 * `holdfast torture ranks [--full] [--repeat N] [--seed S] [--dir D | --s3 s3://bucket/prefix/]
 * [--deadline ms] [--json]`: the multi-rank kill campaign (src/torture/ranks-campaign.ts),
 * 4 real rank processes per trial over a local directory or an S3 bucket.
 */
import { tmpdir } from 'node:os';
import { posix as path } from 'node:path';
import { invalidArg } from '../../errors.js';
import { newNonce } from '../../format/nonce.js';
import { removeTree } from '../../fs/file-utils.js';
import { PosixFileSystem } from '../../fs/posix-file-system.js';
import { runRanksCampaign, type RanksCampaignResult } from '../../torture/ranks-campaign.js';
import { parseCommandArgs } from '../args.js';
import type { CliIo } from '../command.js';
import { formatTable } from '../output.js';

const RANKS_OPTIONS = { seed: { type: 'string' }, dir: { type: 'string' }, s3: { type: 'string' }, full: { type: 'boolean' }, repeat: { type: 'string' }, deadline: { type: 'string' }, json: { type: 'boolean' } } as const;

export const RANKS_HELP = [
  '  ranks      4 real rank processes save one step through the storage alone while',
  '             any rank or the leader is SIGKILLed at each phase, a rank fails, a rank',
  '             never starts, two leaders or two attempts race, a zombie of the previous',
  '             epoch commits: never torn or mixed, the previous checkpoint stays newest',
  '             unless committed, reported commits hold, no rank hangs. Own options:',
  '             [--full] [--repeat <n>] [--seed <s>] [--dir <dir> | --s3 s3://bucket/prefix/]',
  '             [--deadline <ms>] [--json].',
];

export async function runRanks(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('torture ranks', argv.slice(1), RANKS_OPTIONS, { required: [] });
  const seed = args.integer('seed') ?? 1;
  const full = args.flag('full');
  const repeat = args.integer('repeat', 1) ?? 1;
  const deadlineMs = args.integer('deadline', 100) ?? 4000;
  const s3 = args.string('s3');
  if (s3 !== undefined && !/^s3:\/\/[^/]+\/(.+\/)?$/.test(s3)) throw invalidArg(`--s3 must be s3://bucket/ or s3://bucket/prefix/ (ending in "/"), got ${JSON.stringify(s3)}`);
  // The campaign's own scratch space: trial stores are removed as they pass; failing ones stay to look at.
  const fs = new PosixFileSystem();
  const base = s3 ?? path.join(path.resolve(args.string('dir') ?? tmpdir()), `holdfast-ranks-${newNonce().slice(0, 12)}`);
  if (s3 === undefined) await fs.mkdir(base);
  io.stderr(`holdfast torture: ranks (${full ? 'full' : 'quick'}, seed ${seed}, ${s3 === undefined ? 'local' : 's3'} at ${base}) …`);
  const started = Date.now();
  const result = await runRanksCampaign({
    backend: s3 === undefined ? 'local' : 's3',
    base,
    seed,
    full,
    repeat,
    deadlineMs,
    commitMarginMs: deadlineMs,
    ...(s3 === undefined ? { cleanup: (where: string) => removeTree(fs, where) } : {}),
    onTrial: (t) => io.progress?.(`ranks: ${t.scenario}: latest ${String(t.latest)}${t.violations.length > 0 ? ' VIOLATION' : ''}`),
  });
  io.progress?.('');
  if (s3 === undefined && result.violations.length === 0) await removeTree(fs, base);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (args.flag('json')) io.stdout(JSON.stringify({ ok: result.violations.length === 0, seed, full, seconds: Number(seconds), ...result, byScenario: Object.fromEntries(result.byScenario) }, null, 2));
  else printRanks(io, result, seconds);
  return result.violations.length === 0 ? 0 : 1;
}

function printRanks(io: CliIo, r: RanksCampaignResult, seconds: string): void {
  const rows = [...r.byScenario].map(([name, s]) => [name, String(s.trials), String(s.committed), String(s.violations)]);
  for (const line of formatTable(['scenario', 'trials', 'step 2 committed', 'violations'], rows)) io.stdout(line);
  io.stdout(`${r.trials} trials, ${r.processes} rank processes, ${seconds} s; ${r.disagreements} rank report(s) of failure beside a commit that happened; ${r.livenessMisses} expected commit(s) missed.`);
  for (const v of r.violations) io.stdout(`VIOLATION [${v.scenario}] ${v.where}: ${v.message}`);
  io.stdout(r.violations.length === 0 ? 'All required guarantees held.' : `${r.violations.length} violation(s) of required guarantees.`);
}
