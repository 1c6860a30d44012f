import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileSystem } from '../../src/fs/file-system.js';
import { FileSystemWrapper } from '../../src/fs/file-system-wrapper.js';
import type { CampaignResult } from '../../src/torture/campaign.js';
import { POWERLOSS_QUICK, replayPowerlossState, runPowerlossCampaign } from '../../src/torture/powerloss-campaign.js';
import { DEFAULT_SHAPES, STORE_ROOT } from '../../src/torture/powerloss-shapes.js';
import type { DurabilityMode } from '../../src/store/types.js';

const SEED = 20240611;

function quick(modes: DurabilityMode[], extra: Partial<Parameters<typeof runPowerlossCampaign>[0]> = {}): Promise<CampaignResult> {
  // The 4-rank save of the preset has its own test (powerloss-ranks.test.ts).
  return runPowerlossCampaign({ ...POWERLOSS_QUICK, shapes: [...DEFAULT_SHAPES], modes, seed: SEED, workDir: '/unused', ...extra });
}

function outcome(result: CampaignResult, mode: DurabilityMode, name: string): number {
  return result.rows.filter((r) => r.mode === mode && !r.group.startsWith('integrity/')).reduce((n, r) => n + (r.outcomes[name] ?? 0), 0);
}

function explain(result: CampaignResult): string {
  return result.violations.map((v) => `${v.group} #${v.trial}: ${v.description}\n  replay: ${v.replay}`).join('\n');
}

/** Forwards everything except a directory fsync of the store root: the bug the campaign must catch. */
class SkipsStoreDirSync extends FileSystemWrapper {
  constructor(inner: FileSystem) {
    super(inner, 'skips-store-dirsync');
  }
  override async syncDir(path: string): Promise<void> {
    if (path !== STORE_ROOT) await this.inner.syncDir(path);
  }
}

describe('power-loss campaign (quick, seeded)', () => {
  it('atomic_dirsync: every crash state of every prefix restores the newest committed checkpoint, bit-exact', async () => {
    const result = await quick(['atomic_dirsync']);
    assert.deepEqual(result.violations, [], explain(result));
    assert.ok(result.counters['distinctStates']! >= 250, `only ${result.counters['distinctStates']} distinct states`);
    assert.equal(outcome(result, 'atomic_dirsync', 'lost-committed'), 0);
    assert.equal(outcome(result, 'atomic_dirsync', 'torn-returned'), 0);
    assert.equal(outcome(result, 'atomic_dirsync', 'restore-crashed'), 0);
    // The oracle saw the checkpoint both before and after its commit point.
    assert.ok(outcome(result, 'atomic_dirsync', 'newest-committed') > 0);
    assert.ok(outcome(result, 'atomic_dirsync', 'previous-committed') > 0);
    assert.ok(outcome(result, 'atomic_dirsync', 'resume-checked') > 0);
    assert.equal(outcome(result, 'atomic_dirsync', 'resume-failed'), 0);
    for (const row of result.rows) {
      assert.equal(row.required, true);
      assert.equal(row.guarantee.k, row.guarantee.n, row.group);
    }
  });

  it('unsafe and atomic_nodirsync lose committed checkpoints, and say why (the model has teeth)', async () => {
    const result = await quick(['unsafe', 'atomic_nodirsync']);
    // Losing a checkpoint is their documented weakness, not a violation; returning torn bytes would be.
    assert.deepEqual(result.violations, [], explain(result));
    for (const mode of ['unsafe', 'atomic_nodirsync'] as const) {
      assert.ok(outcome(result, mode, 'lost-committed') >= 1, `${mode} never lost a committed checkpoint`);
      assert.equal(outcome(result, mode, 'torn-returned'), 0);
      const row = result.rows.find((r) => r.group === `integrity/${mode}`)!;
      assert.equal(row.guarantee.k, row.guarantee.n);
    }
    // atomic_nodirsync: the rename itself is lost without an fsync of the store directory.
    assert.ok(result.counters['atomic_nodirsync.lost.rename-lost']! >= 1, JSON.stringify(result.counters));
    // unsafe: torn checkpoints under their final name, each caught by verification.
    const detected = Object.entries(result.counters).filter(([k]) => k.startsWith('unsafe.lost.detected:'));
    assert.ok(detected.reduce((n, [, v]) => n + v, 0) >= 1, JSON.stringify(result.counters));
    assert.ok(result.notes.some((n) => n.startsWith('atomic_nodirsync lost the committed checkpoint') && n.includes('rename')));
  });

  it('a commit that skips the store directory fsync is caught as lost committed checkpoints in atomic_dirsync', async () => {
    const result = await quick(['atomic_dirsync'], { shapes: ['after-2-commits'], engineFs: (fs) => new SkipsStoreDirSync(fs) });
    assert.ok(result.violations.length > 0, 'the oracle accepted a commit whose rename is never made durable');
    assert.ok(result.violations.every((v) => v.description.startsWith('lost-committed') && v.description.includes('rename-lost')), explain(result));
    assert.match(result.violations[0]!.replay, /replayPowerlossState/);
  });

  it('replays one state from its printed parameters', async () => {
    const text = await replayPowerlossState({
      shape: '1-shard',
      mode: 'atomic_dirsync',
      seed: SEED,
      maxExhaustiveUnits: 8,
      trials: 48,
      tornSectors: true,
      lostBlockContent: 'old',
      crashPoint: 0,
      subsetIndex: 0,
    });
    assert.match(text, /crash point 0 \(before any op\)/);
    assert.match(text, /"outcome":"nothing-valid"/);
  });
});
