/**
 * `holdfast bench [--dir D] [--workload …] [--size-mib N] [--repeat N] [--quick] [--growth [--growth-max-mib N]] [--s3 [--s3-mib N]] [--ranks [--ranks-mib N]] [--json] [--report out.html]`:
 * measures save and restore against fio's O_DIRECT limit and naive
 * baselines on the same directory (see src/bench/run-bench.ts). Progress goes
 * to stderr so `--json` stdout stays one JSON document.
 */
import { posix as path } from 'node:path';
import { invalidArg } from '../../errors.js';
import { statOrUndefined, writeNewFile } from '../../fs/file-utils.js';
import { PosixFileSystem } from '../../fs/posix-file-system.js';
import { renderHtml, renderText } from '../../bench/report.js';
import { runBench } from '../../bench/run-bench.js';
import { assertS3Configured } from '../../bench/s3-scratch.js';
import { WORKLOAD_NAMES, parseWorkloadName, type WorkloadName } from '../../bench/workloads.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { HELP_OPTION, JSON_OPTION, formatHelp, printJson } from '../output.js';

const OPTIONS = {
  dir: { type: 'string' },
  workload: { type: 'string' },
  'size-mib': { type: 'string' },
  repeat: { type: 'string' },
  quick: { type: 'boolean' },
  growth: { type: 'boolean' },
  'growth-max-mib': { type: 'string' },
  s3: { type: 'boolean' },
  's3-mib': { type: 'string' },
  ranks: { type: 'boolean' },
  'ranks-mib': { type: 'string' },
  json: { type: 'boolean' },
  report: { type: 'string' },
} as const;

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure save/restore bandwidth and latency against fio and naive baselines',
  help: formatHelp({
    usage: 'holdfast bench [--dir <dir>] [--workload <name>] [--size-mib <n>] [--repeat <n>] [--quick] [--growth [--growth-max-mib <n>]] [--s3 [--s3-mib <n>]] [--ranks [--ranks-mib <n>]] [--json] [--report <out.html>]',
    description: [
      'Writes and reads LLM-shaped training states (BF16 weights, F32 master weights',
      'and Adam moments) in <dir> and reports, in one run: fio --direct=1 sequential',
      'write and read of the same byte count (the physical limit; needs Debian\'s fio),',
      'a one-file-per-tensor and a single-file buffered writer, and Holdfast in every',
      'durability mode and I/O method: GB/s and ratio to fio for save and for',
      'restore with full verification, per-checkpoint latency p50/p90/p99 and the',
      'overhead over unsafe, and the training-loop pause of saveAsync; beside fio, the',
      'limits of the machine itself: SHA-256 on every hashing worker with no I/O, and',
      'reading the checkpoint into (or just touching) freshly allocated memory, which',
      'every restore pays. Beside them: fio\'s libaio and io_uring engines at queue',
      'depths 1, 4 and 16, Holdfast in a child process with libuv\'s io_uring',
      '(UV_USE_IO_URING=1) and without, small tensors with and without aggregation',
      'into shard files, and saveAsync within staging budgets (pause and peak memory).',
      'With --growth: save/restore time against state size and tensor count, and',
      'latest/ls time against the number of checkpoints. With --s3 (an S3 server named',
      'by the AWS environment, in a scratch bucket): S3 save and restore against the',
      'SDK\'s plain multipart upload and ranged GETs of the same objects, the saveAsync',
      'pause of a tiered store against the local one, and `holdfast sync` after an',
      'uploader was SIGKILLed midway. With --ranks: saves by 1, 2 and 4 rank processes',
      'against fio with as many jobs, the leader\'s commit beside the data write, and',
      'restore by 3 processes of what 4 saved against restore by 4. Everything it writes is',
      'removed at the end. Needs free space of about twice the workload (with',
      '--growth, also the largest state of the size sweep).',
    ].join('\n'),
    options: [
      ['--dir <dir>', 'directory to measure (default: the current directory); created if missing'],
      ['--workload <name>', `${WORKLOAD_NAMES.join(' | ')} | all | none (default all; none: only the --growth, --s3, --ranks rows)`],
      ['--size-mib <n>', 'scale the LLM workloads down to at most n MiB (default: gpt2-small full ≈1.7 GB, 1b 1024 MiB)'],
      ['--repeat <n>', 'saves per mode and method (default 3; the small workload uses at least 20)'],
      ['--quick', 'tiny run for smoke tests: workloads capped at 48 MiB, few repeats'],
      ['--growth', 'also sweep state size (64 MiB → 4 GiB), tensor count (10 → 100,000) and checkpoints in a store (10 → 10,000)'],
      ['--growth-max-mib <n>', 'cap the state-size sweep at n MiB (default 4096)'],
      ['--s3', 'also the S3-tier rows, on the server AWS_ENDPOINT_URL names (a bucket of its own, deleted after)'],
      ['--s3-mib <n>', 'state size of the S3 rows, at most n MiB (default 512; --quick 24): the server may hold it in memory'],
      ['--ranks', 'also the many-ranks rows (rank processes saving one state together, resharding restore)'],
      ['--ranks-mib <n>', 'state size of the rank rows, at most n MiB (default gpt2-small full ≈1.7 GB; --quick 24)'],
      JSON_OPTION,
      ['--report <out.html>', 'also write an offline HTML report with SVG charts'],
      HELP_OPTION,
    ],
    exitCodes: [
      [0, 'measured (numbers are reported, never judged)'],
      [1, 'failed (I/O error, out of space)'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('bench', argv, OPTIONS, { required: [] });
    const w = args.string('workload') ?? 'all';
    const workloads: WorkloadName[] = w === 'all' ? [...WORKLOAD_NAMES] : w === 'none' ? [] : [parseWorkloadName(w)];
    const sizeMib = args.integer('size-mib', 1);
    const repeat = args.integer('repeat', 1) ?? (args.flag('quick') ? 2 : 3);
    const growthMaxMib = args.integer('growth-max-mib', 1);
    if (growthMaxMib !== undefined && !args.flag('growth')) throw invalidArg('--growth-max-mib needs --growth');
    const s3Mib = args.integer('s3-mib', 1);
    const ranksMib = args.integer('ranks-mib', 1);
    if (s3Mib !== undefined && !args.flag('s3')) throw invalidArg('--s3-mib needs --s3');
    if (ranksMib !== undefined && !args.flag('ranks')) throw invalidArg('--ranks-mib needs --ranks');
    if (args.flag('s3')) assertS3Configured(process.env);
    const quickMib = args.flag('quick') ? 24 : undefined;
    const reportPath = args.string('report');
    if (reportPath !== undefined && reportPath.length === 0) throw invalidArg('--report must not be empty');
    const report = await runBench({
      dir: args.string('dir') ?? process.cwd(),
      workloads,
      ...(sizeMib === undefined ? {} : { maxBytes: sizeMib * 1024 * 1024 }),
      repeat,
      quick: args.flag('quick'),
      ...(args.flag('growth') ? { growthMaxBytes: (growthMaxMib ?? 4096) * 1024 * 1024 } : {}),
      ...(args.flag('s3') ? { s3: { maxBytes: (s3Mib ?? quickMib ?? 512) * 1024 * 1024 } } : {}),
      ...(args.flag('ranks') ? { ranks: mibOrFull(ranksMib ?? quickMib) } : {}),
      log: (line) => io.stderr(line),
    });
    if (reportPath !== undefined) {
      const fs = new PosixFileSystem();
      const p = path.resolve(reportPath);
      if ((await statOrUndefined(fs, p)) !== undefined) await fs.unlink(p);
      await writeNewFile(fs, p, new TextEncoder().encode(renderHtml(report)), { sync: false });
    }
    if (args.flag('json')) printJson(io, report);
    else for (const line of renderText(report)) io.stdout(line);
    return 0;
  },
};

function mibOrFull(mib: number | undefined): { maxBytes?: number } {
  return mib === undefined ? {} : { maxBytes: mib * 1024 * 1024 };
}
