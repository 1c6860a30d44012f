import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { FileSystemWrapper } from '../../src/fs/file-system-wrapper.js';
import type { CampaignResult } from '../../src/torture/campaign.js';
import { IOERROR_QUICK, runIoErrorCampaign } from '../../src/torture/ioerror-campaign.js';
import { fsyncRetries } from '../../src/torture/ioerror-oracle.js';
import type { DurabilityMode } from '../../src/store/types.js';

const SEED = 424242;

function explain(result: CampaignResult): string {
  return result.violations.map((v) => `${v.group} call ${v.trial}: ${v.description}\n  replay: ${v.replay}`).join('\n');
}

const failedCalls = (result: CampaignResult, mode: DurabilityMode, label: string): number => result.counters[`${mode}.failedCall.${label}`] ?? 0;

/** The classic fsyncgate bug: on a failed fsync, call it again on the same descriptor and believe the second answer. */
class RetriesFsync extends FileSystemWrapper {
  constructor(inner: FileSystem) {
    super(inner, 'retries-fsync');
  }
  override async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const fh = await this.inner.open(path, mode, options);
    return {
      path: fh.path,
      pwrite: (d, p) => fh.pwrite(d, p),
      pread: (i, p, l) => fh.pread(i, p, l),
      truncate: (n) => fh.truncate(n),
      sync: () => fh.sync().catch(() => fh.sync()),
      datasync: () => fh.datasync().catch(() => fh.datasync()),
      stat: () => fh.stat(),
      close: () => fh.close(),
    };
  }
}

describe('I/O-error campaign (quick, seeded)', () => {
  it('every mode, every call index, EIO and ENOSPC once and for good: no committed checkpoint changes, errors are typed, the next save succeeds', async () => {
    const result = await runIoErrorCampaign({ ...IOERROR_QUICK, seed: SEED, workDir: '/unused' });
    assert.deepEqual(result.violations, [], explain(result));
    assert.equal(result.rows.length, IOERROR_QUICK.modes.length * IOERROR_QUICK.faults!.length);
    for (const row of result.rows) {
      assert.ok(row.trials >= 30, `${row.group}: ${row.trials} failure points`);
      assert.equal(row.guarantee.k, row.guarantee.n, row.group);
      assert.equal(row.outcomes['rejected:untyped'] ?? 0, 0, row.group);
    }
    // The named scenarios all occurred: ENOSPC mid-shard, EIO on fsync, a failed final rename, a failed directory fsync.
    for (const mode of ['atomic_nodirsync', 'atomic_dirsync'] as const) {
      assert.ok(failedCalls(result, mode, 'pwrite shard') > 0, mode);
      assert.ok(failedCalls(result, mode, 'fsync shard') > 0, mode);
      assert.ok(failedCalls(result, mode, 'fsync manifest') > 0, mode);
      assert.ok(failedCalls(result, mode, 'rename') > 0, mode);
    }
    assert.ok(failedCalls(result, 'atomic_dirsync', 'syncDir store dir') > 0);
    assert.ok(failedCalls(result, 'atomic_dirsync', 'syncDir staging dir') > 0);
    assert.ok(result.counters['crashStates']! > 0, 'no power-loss states were checked after failures');
  });

  it('an engine that retries a failed fsync and trusts it is caught', async () => {
    const result = await runIoErrorCampaign({
      modes: ['atomic_dirsync'],
      trials: 100_000,
      shapes: ['1-shard'],
      faults: ['EIO'],
      seed: SEED,
      workDir: '/unused',
      engineFs: (fs) => new RetriesFsync(fs),
    });
    assert.ok(result.violations.length > 0);
    assert.ok(result.violations.some((v) => /save resolved as committed although call \d+ fsync/.test(v.description)), explain(result));
    assert.ok(result.violations.some((v) => v.description.includes('succeeded on the descriptor whose fsync failed')), explain(result));
  });

  it('fsyncRetries flags a later successful fsync on the descriptor whose fsync failed, and nothing else', () => {
    const base = { path: '/s/f', issuedAt: 0 };
    assert.deepEqual(
      fsyncRetries([
        { index: 0, kind: 'fsync', handleId: 1, ...base, error: 'EIO' },
        { index: 1, kind: 'fsync', handleId: 2, ...base },
      ]),
      [],
    );
    assert.equal(
      fsyncRetries([
        { index: 0, kind: 'fsync', handleId: 1, ...base, error: 'EIO' },
        { index: 1, kind: 'fdatasync', handleId: 1, ...base },
      ]).length,
      1,
    );
  });
});
