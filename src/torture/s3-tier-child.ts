/**
 * The tier-kill class's training process: a tiered store (`--local` directory, durable tier
 * `s3://<bucket>/<prefix>` at `AWS_ENDPOINT_URL`, the parent's fault proxy) that saves steps 1..N
 * and uploads each in the background, as a training job does, until the parent SIGKILLs it. One
 * line per event on stdout (the s3-saver-child.ts protocol, plus upload progress):
 *
 *   ready | begin <step> | committed <step> <sha256> | failed <step> <code>
 *   progress <step> <doneBytes>   the upload of <step> has settled this many bytes
 *   flushed | upload-failed <code> every upload settled (or one failed: it stays resumable)
 *
 * Usage: node s3-tier-child.js --local DIR --bucket B --prefix P --seed S --steps N
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isHoldfastError } from '../errors.js';
import { DEFAULT_CHUNK_BYTES } from '../format/manifest-types.js';
import { openStore } from '../store/open-store.js';
import type { TieredStore } from '../store/types.js';
import { S3_CAMPAIGN_LEASE } from './s3-saver-child.js';
import { tierContent } from './s3-tier-content.js';

async function run(argv: string[], write: (line: string) => void): Promise<void> {
  const { values: v } = parseArgs({ args: argv, strict: true, options: { local: { type: 'string' }, bucket: { type: 'string' }, prefix: { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' } } });
  if (v.local === undefined || v.bucket === undefined || v.prefix === undefined || v.seed === undefined || v.steps === undefined) throw new RangeError('needs --local, --bucket, --prefix, --seed and --steps');
  const seed = Number(v.seed);
  const store = (await openStore(
    { local: v.local, durable: `s3://${v.bucket}/${v.prefix}` },
    {
      lease: S3_CAMPAIGN_LEASE,
      shardSizeBytes: 6 * DEFAULT_CHUNK_BYTES,
      onEvent: (e) => {
        if (e.type === 'progress' && e.phase.startsWith('upload ')) write(`progress ${e.phase.slice(7)} ${e.doneBytes}`);
      },
    },
  )) as TieredStore;
  write('ready');
  for (let step = 1; step <= Number(v.steps); step++) {
    const c = tierContent(seed, step);
    write(`begin ${step}`);
    try {
      await store.save(step, { tensors: c.tensors, state: c.state });
      write(`committed ${step} ${c.digest}`);
    } catch (e) {
      write(`failed ${step} ${isHoldfastError(e) ? e.code : 'untyped'}`);
    }
  }
  try {
    await store.flush();
    write('flushed');
  } catch (e) {
    write(`upload-failed ${isHoldfastError(e) ? e.code : 'untyped'}`);
  }
  await store.close().catch(() => undefined);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await run(process.argv.slice(2), (line) => process.stdout.write(line + '\n'));
  } catch (e) {
    process.stderr.write(`s3-tier-child: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
