/** `holdfast gc`: keeps the newest <n> checkpoints, removes older ones and staging garbage, says what it removed. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { sampleTensors } from '../helpers/tensors.js';
import { ckptDir, commit, expectExit, expectSpawnExit, inputs, snapshot, tempDir } from './helpers.js';

describe('holdfast gc', () => {
  it('--keep-last 1 removes older checkpoints and staging garbage', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    for (const step of [1, 2, 3]) await commit(store, step, [a]);
    mkdirSync(join(store, '.staging', '000000000004-deadbeef'), { recursive: true });
    writeFileSync(join(store, '.staging', '000000000004-deadbeef', 'a.bin'), 'half');
    mkdirSync(ckptDir(store, 9));

    const r = expectSpawnExit(['gc', store, '--keep-last', '1', '--staging-grace', '0'], 0); // the real binary
    assert.match(r.stdout, /^removed checkpoint 1$/m);
    assert.match(r.stdout, /^removed checkpoint 2$/m);
    assert.match(r.stdout, /^removed leftover .*000000000004-deadbeef$/m);
    assert.match(r.stdout, /^quarantined .*\.quarantine\/ckpt-000000000009-/m);
    assert.equal(existsSync(ckptDir(store, 1)), false);
    assert.equal(existsSync(ckptDir(store, 2)), false);
    assert.equal(existsSync(ckptDir(store, 9)), false);
    assert.ok(existsSync(join(ckptDir(store, 3), 'a.bin')));
    assert.deepEqual(readdirSync(join(store, '.staging')), []);
    assert.deepEqual(JSON.parse((await expectExit(['ls', store, '--json'], 0)).stdout).map((c: { step: number }) => c.step), [3]);

    const again = await expectExit(['gc', store, '--keep-last', '1', '--json'], 0);
    const json = JSON.parse(again.stdout);
    assert.deepEqual({ ...json, verdicts: undefined }, { removedSteps: [], removedStaging: [], quarantined: [], dryRun: false, verdicts: undefined });
    assert.deepEqual(json.verdicts, [{ step: 3, keep: true, reasons: [{ rule: 'keep-last', detail: 'among the newest 1' }, { rule: 'newest-valid', detail: 'the newest checkpoint that passes verification' }] }]);
  });

  it('rejects a missing or non-positive --keep-last (exit 2) and a missing store (exit 1)', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    assert.match((await expectExit(['gc', store], 2)).stderr, /gc needs at least one retention rule: --keep-last, --keep-every, --keep-best or --keep-within/);
    assert.match((await expectExit(['gc', store, '--keep-best', '2'], 2)).stderr, /missing required option --metric/);
    assert.match((await expectExit(['gc', store, '--keep-best', '2', '--metric', 'loss', '--mode', 'low'], 2)).stderr, /--mode must be min or max, got "low"/);
    assert.match((await expectExit(['gc', store, '--keep-last', '1', '--durable-keep-last', '2'], 2)).stderr, /a tiered store's gc options; .* is not tiered/);
    assert.match((await expectExit(['gc', store, '--keep-last', '1', '--metric', 'loss'], 2)).stderr, /--metric and --mode go with --keep-best/);
    assert.match((await expectExit(['gc', store, '--keep-within', '7 days'], 2)).stderr, /--keep-within must be a duration such as 90s/);
    assert.match((await expectExit(['gc', store, '--keep-every', '0'], 2)).stderr, /--keep-every must be an integer >= 1/);
    assert.match((await expectExit(['gc', store, '--keep-last', '0'], 2)).stderr, /--keep-last must be an integer >= 1, got "0"/);
    assert.match((await expectExit(['gc', store, '--keep-last', '-2'], 2)).stderr, /--keep-last must be an integer >= 1/);
    await expectExit(['gc', join(dir, 'nope'), '--keep-last', '1'], 1);
    assert.equal(existsSync(join(dir, 'nope')), false);
    assert.ok(existsSync(ckptDir(store, 1)));
  });

  it('combined rules, --dry-run says what would go and why and changes nothing; a tagged checkpoint survives', async () => {
    const dir = tempDir();
    const root = join(dir, 's');
    const store = await openStore(root);
    const losses = [0.9, 0.2, 0.7, 0.5, 0.8, 0.6];
    for (const [i, loss] of losses.entries()) await store.save(i + 1, { tensors: sampleTensors(i + 1), state: { eval: { loss } } });
    await store.close();
    await expectExit(['tag', root, '1', 'baseline'], 0);
    const args = ['gc', root, '--keep-last', '1', '--keep-every', '3', '--keep-best', '1', '--metric', 'eval.loss', '--mode', 'min'];
    const before = snapshot(root);
    const dry = await expectExit([...args, '--dry-run'], 0);
    assert.deepEqual(snapshot(root), before, 'a dry run changes nothing');
    assert.deepEqual(dry.stdout.trim().split('\n'), [
      'keep 1: tagged (baseline)',
      'keep 2: keep-best (eval.loss = 0.2, among the best 1 (min))',
      'keep 3: keep-every (step is a multiple of 3)',
      'would delete 4: older than the newest 1; not a multiple of 3; eval.loss = 0.5, not among the best 1',
      'would delete 5: older than the newest 1; not a multiple of 3; eval.loss = 0.8, not among the best 1',
      'keep 6: keep-last (among the newest 1); keep-every (step is a multiple of 3); newest-valid (the newest checkpoint that passes verification)',
    ]);
    const real = expectSpawnExit(args, 0);
    assert.equal(real.stdout, 'removed checkpoint 4\nremoved checkpoint 5\n');
    const ls = await expectExit(['ls', root], 0);
    assert.match(ls.stdout.split('\n')[0]!, /^\s*STEP\s+SIZE\s+FILES\s+CREATED\s+TAGS$/);
    assert.deepEqual(ls.stdout.trim().split('\n').slice(1).map((l) => [l.trim().split(/\s+/)[0], l.endsWith(' baseline')]), [['1', true], ['2', false], ['3', false], ['6', false]]);
    assert.match((await expectExit(['untag', root, 'baseline'], 0)).stdout, /^removed tag baseline from checkpoint 1$/m);
    assert.equal((await expectExit(['gc', root, '--keep-last', '1', '--json'], 0)).stdout.includes('"removedSteps": [\n    1,\n    2,\n    3\n  ]'), true);
  });

  it('tag: refuses a missing step (exit 1), a bad name (exit 2), a name on another step (exit 2); untag of no tag is exit 1', async () => {
    const dir = tempDir();
    const { a } = inputs(dir);
    const store = join(dir, 's');
    await commit(store, 1, [a]);
    await commit(store, 2, [a]);
    assert.match((await expectExit(['tag', store, '9', 'x'], 1)).stderr, /no committed checkpoint for step 9/);
    assert.match((await expectExit(['tag', store, '1', '../x'], 2)).stderr, /tag name must be 1-128 characters/);
    await expectExit(['tag', store, '1', 'best'], 0);
    await expectExit(['tag', store, '1', 'best'], 0);
    assert.match((await expectExit(['tag', store, '2', 'best'], 2)).stderr, /tag "best" already names step 1; untag it first/);
    assert.deepEqual(JSON.parse((await expectExit(['ls', store, '--json'], 0)).stdout).map((c: { tags: string[] }) => c.tags), [['best'], []]);
    assert.match((await expectExit(['untag', store, 'nope'], 1)).stderr, /no tag "nope"/);
  });
});
