import assert from 'node:assert/strict';
import test from 'node:test';
import type { CampaignResult } from '../../src/torture/campaign.js';
import { runCorruptCampaign } from '../../src/torture/corrupt-campaign.js';
import { renderTortureReport } from '../../src/torture/report-html.js';
import { wilson } from '../../src/torture/wilson.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A result shaped like any campaign's, with a failing required row and a reported one. */
function syntheticResult(): CampaignResult {
  return {
    campaign: 'powerloss',
    seed: 7,
    rows: [
      {
        group: 'atomic_dirsync <1-shard>',
        mode: 'atomic_dirsync',
        trials: 2000,
        outcomes: { 'newest-committed': 1990, 'previous-committed': 10, 'rollback:ok': 2000 },
        guarantee: wilson(2000, 2000),
        guaranteeLabel: 'restore returned a committed checkpoint & "newest" when owed',
        required: true,
      },
      {
        group: 'atomic_nodirsync',
        mode: 'atomic_nodirsync',
        trials: 500,
        outcomes: { 'newest-committed': 450, 'lost-committed': 50 },
        guarantee: wilson(450, 500),
        guaranteeLabel: 'no committed checkpoint lost',
        required: true,
      },
      {
        group: 'unsafe',
        mode: 'unsafe',
        trials: 0,
        outcomes: {},
        guarantee: wilson(0, 0),
        guaranteeLabel: 'reported only',
        required: false,
      },
    ],
    violations: [{ group: 'atomic_nodirsync', trial: 3, seed: 7, description: 'lost <step 2>', replay: 'holdfast torture powerloss --seed 7' }],
    counters: { trials: 2500, distinctStates: 123 },
    notes: ['a note with <angle brackets> & ampersands'],
    durationMs: 1234,
  };
}

test('the report is one offline page: inline SVG charts, no external reference, no script', () => {
  const html = renderTortureReport([syntheticResult()], { command: 'holdfast torture powerloss', machine: { cores: '2' }, generatedAt: '2025-01-01T00:00:00Z' });
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<svg /);
  assert.doesNotMatch(html, /https?:\/\//, 'no http(s) reference anywhere, not even an SVG namespace');
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i);
  assert.doesNotMatch(html, /src=/);
});

test('every row, violation and note is shown, escaped; a broken required row is marked', () => {
  const html = renderTortureReport([syntheticResult()]);
  assert.ok(html.includes('atomic_dirsync &lt;1-shard&gt;'));
  assert.ok(!html.includes('<1-shard>'), 'group names are escaped');
  assert.ok(html.includes('a note with &lt;angle brackets&gt; &amp; ampersands'));
  assert.ok(html.includes('holdfast torture powerloss --seed 7'));
  assert.match(html, /FAIL \(1 violation\)/);
  assert.match(html, /<tr class="fail"><td>atomic_nodirsync<\/td>/);
  assert.match(html, /2000\/2000/);
  assert.match(html, /no trials/, 'a row with n = 0 is drawn without a bar');
  // Side counts ("rollback:ok") stay out of the stacked outcome bars but are in the table.
  assert.match(html, /rollback:ok 2000/);
});

test('a real corrupt campaign renders with its guarantee chart and outcome breakdown', async (t) => {
  const result = await runCorruptCampaign({ modes: ['atomic_dirsync'], trials: 2, seed: 3, workDir: tempDir(t), variants: ['bit-flip', 'C7', 'benign/clean'] });
  const html = renderTortureReport([result]);
  assert.equal((html.match(/<svg /g) ?? []).length >= 2, true);
  assert.match(html, /Outcome breakdown/);
  assert.match(html, /PASS/);
  assert.doesNotMatch(html, /https?:\/\//);
  assert.ok(html.length < 200_000);
});
