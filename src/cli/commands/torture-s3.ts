/**
 * `holdfast torture s3 [--full] [--trials N] [--class c[,c…]] [--trial T] [--store s3://b/p]
 * [--seed S] [--json] [--report out.html]`: the S3 fault campaign (src/torture/s3-campaign.ts)
 * against the server at AWS_ENDPOINT_URL. Exit 1 when any invariant broke, each violation
 * printed with the command that replays its trial.
 */
import { tmpdir } from 'node:os';
import { posix as path } from 'node:path';
import { invalidArg } from '../../errors.js';
import { statOrUndefined, writeNewFile } from '../../fs/file-utils.js';
import { PosixFileSystem } from '../../fs/posix-file-system.js';
import { parseS3Url } from '../../storage/s3-storage.js';
import type { CampaignResult } from '../../torture/campaign.js';
import { renderTortureReport } from '../../torture/report-html.js';
import { S3_FAULT_CLASSES, S3_FULL, S3_QUICK, runS3Campaign, type S3CampaignResult, type S3FaultClass } from '../../torture/s3-campaign.js';
import { campaignUpstream, withScratchBucket } from '../../torture/s3-scratch-bucket.js';
import { parseCommandArgs } from '../args.js';
import type { CliIo } from '../command.js';

const OPTIONS = {
  full: { type: 'boolean' }, trials: { type: 'string' }, class: { type: 'string' }, trial: { type: 'string' }, store: { type: 'string' },
  seed: { type: 'string' }, json: { type: 'boolean' }, report: { type: 'string' }, dir: { type: 'string' },
} as const;

export async function runS3Torture(argv: string[], io: CliIo, print: (io: CliIo, r: S3CampaignResult) => void): Promise<number> {
  const args = parseCommandArgs('torture s3', argv.slice(1), OPTIONS, { required: [] });
  const preset = args.flag('full') ? S3_FULL : S3_QUICK;
  const classes = parseClasses(args.string('class'));
  const seed = args.integer('seed') ?? 1;
  const trial = args.integer('trial');
  const upstream = campaignUpstream(process.env);
  const store = args.string('store');
  const where = store === undefined ? undefined : parseS3Url(store);
  io.stderr(`holdfast torture: s3 (${args.flag('full') ? 'full' : 'quick'}, seed ${seed}) against ${upstream} …`);
  const run = (bucket: string, prefix: string): Promise<S3CampaignResult> =>
    runS3Campaign({
      ...preset,
      seed,
      classes,
      upstream,
      scratchDir: path.resolve(args.string('dir') ?? tmpdir()),
      bucket,
      prefix,
      trials: args.integer('trials', 1) ?? preset.trials,
      ...(trial !== undefined ? { onlyTrial: trial } : {}),
      onProgress: (done, total, label) => io.progress?.(`s3: ${done}/${total} ${label}`),
    });
  const result = where === undefined ? await withScratchBucket((bucket) => run(bucket, `torture-${seed}/`)) : await run(where.bucket, where.prefix);
  io.progress?.('');
  const reportPath = args.string('report');
  if (reportPath !== undefined && reportPath !== '') {
    const fs = new PosixFileSystem();
    const html = renderTortureReport([result as unknown as CampaignResult], { command: `holdfast torture ${argv.join(' ')}`, generatedAt: new Date().toISOString() });
    const p = path.resolve(reportPath);
    if ((await statOrUndefined(fs, p)) !== undefined) await fs.unlink(p);
    await writeNewFile(fs, p, new TextEncoder().encode(html), { sync: false });
  }
  if (args.flag('json')) io.stdout(JSON.stringify({ ok: result.violations.length === 0, seed, full: args.flag('full'), campaigns: [result] }, null, 2));
  else print(io, result);
  return result.violations.length === 0 ? 0 : 1;
}

function parseClasses(text: string | undefined): S3FaultClass[] {
  if (text === undefined) return [...S3_FAULT_CLASSES];
  const classes = text.split(',').map((c) => c.trim()).filter((c) => c.length > 0);
  for (const c of classes) {
    if (!S3_FAULT_CLASSES.includes(c as S3FaultClass)) throw invalidArg(`--class: unknown S3 fault class ${JSON.stringify(c)}; expected ${S3_FAULT_CLASSES.join(', ')}`);
  }
  if (classes.length === 0) throw invalidArg('--class needs at least one class');
  return [...new Set(classes)] as S3FaultClass[];
}
