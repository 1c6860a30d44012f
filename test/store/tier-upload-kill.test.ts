// A real uploader process SIGKILLed mid-upload: the local checkpoint stays valid, the tier state
// (derived from the two stores alone) says `uploading`, and `holdfast sync` in another process, or
// opening the store again, resumes the multipart upload, sending fewer bytes than the checkpoint holds, to a durable copy that verifies.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { openStore } from '../../src/store/open-store.js';
import type { TieredStore, UploadReport } from '../../src/store/types.js';
import { assertSameTensors } from '../storage/conformance.js';
import { tempDir } from '../helpers/temp-dir.js';
import { withS3Bucket } from '../helpers/s3-bucket.js';
import { bigTensor } from '../helpers/big-tensor.js';

const MiB = 2 ** 20;
const PART = 8 * MiB;
const CHILD = fileURLToPath(new URL('./tier-upload-child.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Runs the child until it reports it froze, then SIGKILLs it. */
function killWhenFrozen(args: string[]): Promise<{ frozenAt: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let frozenAt = -1;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /frozen (\d+)/.exec(out);
      if (m !== null && frozenAt < 0) {
        frozenAt = Number(m[1]);
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (frozenAt < 0 ? reject(new Error(`child exited (${signal ?? _code}) before freezing: ${out}`)) : resolve({ frozenAt, signal })));
  });
}

withS3Bucket('a killed uploader resumes against a real S3 server', (bucket, admin) => {
  for (const resume of ['holdfast sync', 'the next open'] as const) {
    test(`SIGKILL mid-upload, then ${resume}: local still valid, state uploading, fewer bytes sent, durable copy verified`, async (t) => {
      const local = join(tempDir(t), 'local');
      const prefix = resume === 'holdfast sync' ? 'killed-sync' : 'killed-open';
      const durable = `s3://${bucket}/${prefix}`;
      const tensors = { big: bigTensor(6 * PART, 11) };
      const seed = await openStore(local);
      const saved = await seed.save(1, { tensors, state: { step: 1 } });
      await seed.close();

      const { frozenAt, signal } = await killWhenFrozen([local, durable, String(2 * PART)]);
      assert.equal(signal, 'SIGKILL');
      assert.ok(frozenAt >= 2 * PART && frozenAt < saved.bytes, `froze at ${frozenAt} of ${saved.bytes}`);

      const store = (await openStore({ local, durable, upload: 'manual' })) as TieredStore;
      assert.deepEqual((await store.list()).map((c) => c.tier), ['uploading'], 'the interrupted upload is visible in the durable store');
      const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
      assert.equal(uploads.Uploads?.length, 1, 'one multipart upload left to resume');
      const localStore = await openStore(local, { create: false });
      assert.ok((await localStore.verify()).every((r) => r.ok), 'the local checkpoint is untouched and valid');
      await localStore.close();

      const report = resume === 'holdfast sync' ? syncInAnotherProcess(local, durable) : await reopenAndFlush(local, durable);
      assert.equal(report.results[0]!.outcome, 'copied');
      const sent = report.results[0]!.sentBytes;
      assert.ok(sent <= saved.bytes - 2 * PART, `resumed: sent ${sent} of ${saved.bytes} bytes, at least two parts fewer`);
      assert.deepEqual((await store.list()).map((c) => c.tier), ['durable']);
      await store.close();

      const after = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
      assert.equal(after.Uploads?.length ?? 0, 0, 'no multipart upload left behind');
      const direct = await openStore(durable, { create: false });
      assert.ok((await direct.verify()).every((r) => r.ok), 'the durable copy verifies byte for byte');
      assertSameTensors((await direct.restore(1)).tensors, tensors, 'durable step 1');
      await direct.close();
    });
  }
});

/** `holdfast sync` in yet another process, as an operator would run it. */
function syncInAnotherProcess(local: string, durable: string): UploadReport {
  const cli = spawnSync(process.execPath, [MAIN, 'sync', `${local}::${durable}`, '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  return JSON.parse(cli.stdout) as UploadReport;
}

/** A training process starting again: opening the store (background mode) resumes the upload by itself. */
async function reopenAndFlush(local: string, durable: string): Promise<UploadReport> {
  const store = (await openStore({ local, durable })) as TieredStore;
  try {
    return await store.flush();
  } finally {
    await store.close();
  }
}
