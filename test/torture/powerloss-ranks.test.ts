// The power-loss campaign's 4-rank save (local backend), quick and seeded: every crash state of
// the ranks' files, rank records, the leader's epoch record, manifest and commit restores the
// previous or the new checkpoint whole, rank and epoch records are whole or absent, fencing
// survives; and the oracle is shown to catch a lost epoch and a torn rank record.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { FileSystemWrapper } from '../../src/fs/file-system-wrapper.js';
import type { CampaignResult } from '../../src/torture/campaign.js';
import { POWERLOSS_QUICK, replayPowerlossState, runPowerlossCampaign } from '../../src/torture/powerloss-campaign.js';
import { RANKS_SHAPE } from '../../src/torture/powerloss-ranks.js';
import type { DurabilityMode } from '../../src/store/types.js';
import { holdfast } from '../cli/helpers.js';

const SEED = 20261202;

function run(modes: DurabilityMode[], extra: Partial<Parameters<typeof runPowerlossCampaign>[0]> = {}): Promise<CampaignResult> {
  return runPowerlossCampaign({ ...POWERLOSS_QUICK, modes, shapes: [RANKS_SHAPE], seed: SEED, workDir: '/unused', trials: 24, ...extra });
}

function row(result: CampaignResult, mode: DurabilityMode): Record<string, number> {
  return result.rows.find((r) => r.group === `${RANKS_SHAPE}/${mode}`)!.outcomes;
}

function explain(result: CampaignResult): string {
  return result.violations.map((v) => `${v.group} #${v.trial}: ${v.description}\n  replay: ${v.replay}`).join('\n');
}

/** Drops the directory fsync that makes a new epoch record's name durable: the bug the fencing check must catch. */
class SkipsEpochsDirSync extends FileSystemWrapper {
  constructor(inner: FileSystem) {
    super(inner, 'skips-epochs-dirsync');
  }
  override async syncDir(path: string): Promise<void> {
    if (!path.endsWith('/epochs')) await this.inner.syncDir(path);
  }
}

/** Rank records written without fsync of their bytes: the bug the whole-or-absent check must catch. */
class SkipsRecordFsync extends FileSystemWrapper {
  constructor(inner: FileSystem) {
    super(inner, 'skips-record-fsync');
  }
  override async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode, options);
    if (!/\/records\/\.rank-[^/]+\/record\.json$/.test(path)) return handle;
    return new Proxy(handle, {
      get(target, key) {
        if (key === 'sync' || key === 'datasync') return () => Promise.resolve();
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

describe('power-loss campaign, 4-rank save (quick, seeded)', () => {
  it('atomic_dirsync: every crash state restores step 1 or step 2 whole, records are whole or absent, fencing holds, the next incarnation resumes', async () => {
    const result = await run(['atomic_dirsync']);
    assert.deepEqual(result.violations, [], explain(result));
    const o = row(result, 'atomic_dirsync');
    assert.ok(result.counters['distinctStates']! >= 300, `only ${result.counters['distinctStates']} distinct states`);
    for (const bad of ['lost-committed', 'torn-returned', 'restore-crashed', 'record-torn', 'fencing-lost', 'resume-failed']) assert.equal(o[bad], 0, bad);
    assert.ok(o['newest-committed']! > 0 && o['previous-committed']! > 0, JSON.stringify(o));
    assert.ok(o['resume-checked']! > 0);
    // The save under test is the whole protocol: epoch record, 4 rank records, the leader's commit.
    const ops = result.counters[`${RANKS_SHAPE}.atomic_dirsync.ops`]!;
    assert.ok(result.counters[`${RANKS_SHAPE}.atomic_dirsync.epochDoneAt`]! > 0);
    assert.equal(result.counters[`${RANKS_SHAPE}.atomic_dirsync.commitDoneAt`], ops);
  });

  it('atomic_nodirsync loses committed checkpoints and epochs (the model has teeth), but never returns a torn one or a torn record', async () => {
    const result = await run(['atomic_nodirsync'], { trials: 16 });
    assert.deepEqual(result.violations, [], explain(result));
    const o = row(result, 'atomic_nodirsync');
    assert.ok(o['lost-committed']! >= 1, JSON.stringify(o));
    assert.ok(o['fencing-lost']! >= 1, JSON.stringify(o));
    assert.equal(o['torn-returned'], 0);
    assert.equal(o['record-torn'], 0);
    const integrity = result.rows.find((r) => r.group === 'integrity/atomic_nodirsync')!;
    assert.equal(integrity.guarantee.k, integrity.guarantee.n);
  });

  it('unsafe has no multi-rank save: the shape is skipped there', async () => {
    const result = await run(['unsafe'], { trials: 1 });
    assert.deepEqual(result.rows.filter((r) => r.group.startsWith(RANKS_SHAPE)), []);
  });

  it('a leader whose epoch record is not made durable is caught: fencing lost in atomic_dirsync', async () => {
    const result = await run(['atomic_dirsync'], { trials: 8, maxExhaustiveUnits: 6, resumeEvery: 0, engineFs: (fs) => new SkipsEpochsDirSync(fs) });
    assert.ok(result.violations.length > 0, 'the oracle accepted an epoch record that power loss can take away');
    assert.ok(result.violations.every((v) => v.description.includes('fencing: epoch 2')), explain(result));
  });

  it('rank records whose bytes were never fsynced are caught as torn (integrity)', async () => {
    const result = await run(['atomic_dirsync'], { trials: 8, maxExhaustiveUnits: 6, resumeEvery: 0, engineFs: (fs) => new SkipsRecordFsync(fs) });
    assert.ok(result.violations.some((v) => /record: \.staging\/.*\/records\/rank-000\d is torn/.test(v.description)), explain(result));
    assert.match(result.violations[0]!.replay, /replayPowerlossState/);
    const integrity = result.rows.find((r) => r.group === 'integrity/atomic_dirsync')!;
    assert.ok(integrity.guarantee.k < integrity.guarantee.n);
  });

  it('replays one state from its printed parameters', async () => {
    const text = await replayPowerlossState({ shape: RANKS_SHAPE, mode: 'atomic_dirsync', seed: SEED, maxExhaustiveUnits: 8, trials: 8, tornSectors: true, lostBlockContent: 'old', crashPoint: 10, subsetIndex: 0 });
    assert.match(text, /crash point 10/);
    assert.match(text, /"outcome":"previous-committed"/);
  });

  it('holdfast torture powerloss --shape 4-ranks runs the 4-rank save alone; an unknown shape is a usage error', async () => {
    const ok = await holdfast(['torture', 'powerloss', '--shape', RANKS_SHAPE, '--mode', 'atomic_dirsync', '--trials', '2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /4-ranks\/atomic_dirsync/);
    assert.doesNotMatch(ok.stdout, /1-shard\//);
    const help = await holdfast(['torture', 'powerloss', '--help']);
    assert.match(help.stdout, /--shape <s>\[,<s>…\]\s+powerloss only: save shapes \(.*4-ranks\)/);
    const bad = await holdfast(['torture', 'powerloss', '--shape', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown save shape "nope"/);
  });
});
