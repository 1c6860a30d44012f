/**
 * The torture report: one self-contained HTML page (inline CSS and SVG, no
 * script, no external reference, so it opens offline and can be archived
 * beside RELIABILITY.md) for any list of `CampaignResult`s, whatever the
 * campaign. Per campaign:
 *
 * - guarantee chart: each row's rate with its 95 % Wilson interval as a
 *   whisker (the seed paper's Figures 3 and 5). Rows are drawn in facets,
 *   required rows apart from reported ones, each facet on its own axis, zoomed
 *   in when every lower bound is high: at n = 2,000 the interval of an
 *   all-pass row spans 0.2 %, invisible on a 0–100 % axis;
 * - outcome breakdown: stacked bars of each row's outcome counts (Figure 4's
 *   failure reasons). Outcome keys containing ':' are side counts
 *   (`rollback:ok`, `events:quarantined`), not part of the partition, and are
 *   left out of the bars; rows with a single outcome are left out too;
 * - the table of every row, the violations with their replay commands,
 *   counters and notes.
 */
import type { CampaignResult, CampaignRow } from './campaign.js';
import { formatPercent } from './wilson.js';

interface ReportMeta {
  title?: string;
  /** The command line that produced the results. */
  command?: string;
  /** Machine facts (cores, memory, kernel, file system), shown as a table. */
  machine?: Record<string, string>;
  generatedAt?: string;
}

const MAX_VIOLATIONS_SHOWN = 50;
const GOOD = new Set(['newest-restored', 'in-flight-restored', 'no-alarm', 'clean', 'not-flagged']);
/** Outcomes that are failures wherever they appear. (`nothing-valid` is not one: before the first commit it is the right answer.) */
const BAD = new Set(['torn-returned', 'restore-error', 'restore-crashed', 'older-restored', 'lost-committed', 'missed', 'false-alarm', 'torn-manifest', 'incomplete-dir', 'flagged']);
const PALETTE = ['#4e79a7', '#f28e2b', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#59a14f', '#86bcb6', '#d37295', '#a0cbe8'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function colorFor(key: string, index: number): string {
  if (GOOD.has(key)) return key === 'in-flight-restored' ? '#8cd17d' : key === 'clean' ? '#2f7d6d' : '#59a14f';
  if (key === 'staging-leftover') return '#a0cbe8';
  if (BAD.has(key) || key.startsWith('torn-')) return key === 'incomplete-dir' ? '#f1ce63' : key === 'torn-manifest' ? '#e15759' : key === 'lost-committed' ? '#e15759' : '#c0392b';
  return PALETTE[index % PALETTE.length]!;
}

/** The lowest of these at or below every lower bound: 0, 50, 90, 95, 99, 99.5, 99.9 %. */
function axisMin(rows: CampaignRow[]): number {
  const low = Math.min(...rows.map((r) => (r.guarantee.n === 0 ? 1 : r.guarantee.lower)));
  for (const candidate of [0.999, 0.995, 0.99, 0.95, 0.9, 0.5]) if (low >= candidate) return candidate;
  return 0;
}

function guaranteeFacet(title: string, rows: CampaignRow[]): string {
  if (rows.length === 0) return '';
  const labelW = Math.min(360, 12 + 6.6 * Math.max(...rows.map((r) => r.group.length)));
  const plotW = 420;
  const textW = 230;
  const rowH = 20;
  const top = 38;
  const height = top + rows.length * rowH + 26;
  const lo = axisMin(rows);
  const x = (v: number): number => labelW + ((Math.max(lo, v) - lo) / (1 - lo)) * plotW;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (1 - lo));
  const parts: string[] = [`<text x="0" y="14" font-weight="bold">${esc(title)}</text>`];
  for (const t of ticks) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${top - 6}" x2="${x(t).toFixed(1)}" y2="${height - 22}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${height - 8}" text-anchor="middle" fill="#555">${esc(formatPercent(t))}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const g = r.guarantee;
    const ok = g.k === g.n;
    const fill = !r.required ? '#9aa5b1' : ok ? '#59a14f' : '#e15759';
    parts.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${esc(r.group)}</text>`);
    if (g.n > 0) {
      parts.push(`<rect x="${labelW}" y="${y + 3}" width="${Math.max(0, x(g.rate) - labelW).toFixed(1)}" height="${rowH - 7}" fill="${fill}"><title>${esc(`${r.group}: ${g.k}/${g.n}`)}</title></rect>`);
      const [wl, wu] = [x(g.lower), x(g.upper)];
      const mid = y + rowH / 2;
      parts.push(`<line x1="${wl.toFixed(1)}" y1="${mid}" x2="${wu.toFixed(1)}" y2="${mid}" stroke="#222" stroke-width="1.5"/>`);
      parts.push(`<line x1="${wl.toFixed(1)}" y1="${mid - 5}" x2="${wl.toFixed(1)}" y2="${mid + 5}" stroke="#222" stroke-width="1.5"/>`);
      parts.push(`<line x1="${wu.toFixed(1)}" y1="${mid - 5}" x2="${wu.toFixed(1)}" y2="${mid + 5}" stroke="#222" stroke-width="1.5"/>`);
    }
    const text = g.n === 0 ? 'no trials' : `${g.k}/${g.n}  [${formatPercent(g.lower)}, ${formatPercent(g.upper)}]`;
    parts.push(`<text x="${labelW + plotW + 8}" y="${y + 13}" fill="#333">${esc(text)}</text>`);
  });
  return `<svg width="${(labelW + plotW + textW).toFixed(0)}" height="${height}" font-family="sans-serif" font-size="12" role="img">${parts.join('')}</svg>`;
}

function partition(r: CampaignRow): [string, number][] {
  return Object.entries(r.outcomes).filter(([k, v]) => !k.includes(':') && v > 0);
}

function breakdownChart(result: CampaignResult): string {
  const seen = new Set<string>();
  const rows = result.rows.filter((r) => {
    const parts = partition(r);
    if (parts.length < 2) return false;
    const key = `${r.mode ?? ''}|${JSON.stringify(parts)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (rows.length === 0) return '';
  const keys: string[] = [];
  for (const r of rows) for (const [k] of partition(r)) if (!keys.includes(k)) keys.push(k);
  const colors = new Map(keys.map((k, i) => [k, colorFor(k, i)]));
  const labelW = Math.min(360, 12 + 6.6 * Math.max(...rows.map((r) => r.group.length)));
  const plotW = 520;
  const rowH = 22;
  const top = 26;
  const legendRows = Math.ceil(keys.length / 3);
  const height = top + rows.length * rowH + 12 + legendRows * 18;
  const parts: string[] = [`<text x="0" y="14" font-weight="bold">Outcome breakdown (share of trials)</text>`];
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const total = partition(r).reduce((s, [, v]) => s + v, 0);
    parts.push(`<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(r.group)}</text>`);
    let at = labelW;
    for (const [k, v] of partition(r)) {
      const w = (v / total) * plotW;
      parts.push(`<rect x="${at.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colors.get(k)}"><title>${esc(`${k}: ${v} of ${total} (${formatPercent(v / total)})`)}</title></rect>`);
      if (w > 38) parts.push(`<text x="${(at + w / 2).toFixed(1)}" y="${y + 15}" text-anchor="middle" fill="#111" font-size="10">${v}</text>`);
      at += w;
    }
  });
  keys.forEach((k, i) => {
    const lx = labelW + (i % 3) * 200;
    const ly = top + rows.length * rowH + 12 + Math.floor(i / 3) * 18;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${colors.get(k)}"/><text x="${lx + 16}" y="${ly}">${esc(k)}</text>`);
  });
  return `<svg width="${(labelW + plotW + 20).toFixed(0)}" height="${height}" font-family="sans-serif" font-size="12" role="img">${parts.join('')}</svg>`;
}

function outcomesText(r: CampaignRow): string {
  return Object.entries(r.outcomes)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
}

function rowsTable(result: CampaignResult): string {
  const body = result.rows
    .map((r) => {
      const g = r.guarantee;
      const cls = r.required && g.k !== g.n ? ' class="fail"' : '';
      return `<tr${cls}><td>${esc(r.group)}</td><td>${r.trials}</td><td>${g.k}/${g.n}</td><td>${esc(formatPercent(g.rate))}</td><td>${esc(`${formatPercent(g.lower)} – ${formatPercent(g.upper)}`)}</td><td>${r.required ? 'required' : 'reported'}</td><td class="l">${esc(outcomesText(r))}</td></tr>`;
    })
    .join('\n');
  return `<table><tr><th>group</th><th>trials</th><th>k/n</th><th>rate</th><th>95 % Wilson</th><th></th><th class="l">outcomes</th></tr>\n${body}</table>`;
}

function guaranteeLabels(result: CampaignResult): string {
  const labels = [...new Set(result.rows.map((r) => r.guaranteeLabel))];
  return `<ul>${labels.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`;
}

function campaignSection(result: CampaignResult): string {
  const passed = result.violations.length === 0;
  const trials = Math.max(0, ...result.rows.map((r) => r.trials));
  const required = result.rows.filter((r) => r.required);
  const reported = result.rows.filter((r) => !r.required);
  const violations = result.violations.slice(0, MAX_VIOLATIONS_SHOWN).map((v) => `<li><b>${esc(v.group)}</b> trial ${v.trial} (seed ${v.seed}): ${esc(v.description)}<br><code>${esc(v.replay)}</code></li>`);
  const more = result.violations.length > MAX_VIOLATIONS_SHOWN ? `<p>… and ${result.violations.length - MAX_VIOLATIONS_SHOWN} more (see --json).</p>` : '';
  const counters = Object.entries(result.counters).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('');
  return [
    `<h2 id="${esc(result.campaign)}">${esc(result.campaign)} <span class="${passed ? 'pass' : 'failtag'}">${passed ? 'PASS' : `FAIL (${result.violations.length} violation${result.violations.length === 1 ? '' : 's'})`}</span></h2>`,
    `<p>seed ${result.seed} · ${result.rows.length} rows · up to ${trials} trials per row · ${(result.durationMs / 1000).toFixed(1)} s</p>`,
    `<p>What each row's guarantee measures:</p>${guaranteeLabels(result)}`,
    `<div class="chart">${guaranteeFacet('Required guarantees (95 % Wilson intervals)', required)}</div>`,
    reported.length > 0 ? `<div class="chart">${guaranteeFacet('Reported, not required', reported)}</div>` : '',
    `<div class="chart">${breakdownChart(result)}</div>`,
    rowsTable(result),
    result.violations.length > 0 ? `<h3>Violations</h3><ol>${violations.join('')}</ol>${more}` : '<p>No violations.</p>',
    counters.length > 0 ? `<h3>Counters</h3><table>${counters}</table>` : '',
    result.notes.length > 0 ? `<h3>Notes</h3><ul>${result.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '',
  ].join('\n');
}

/** `counters.trials` when the campaign reports it, else the largest row. */
function totalTrials(r: CampaignResult): number {
  return r.counters['trials'] ?? Math.max(0, ...r.rows.map((x) => x.trials));
}

export function renderTortureReport(results: readonly CampaignResult[], meta: ReportMeta = {}): string {
  const title = meta.title ?? 'Holdfast torture report';
  const summary = results
    .map((r) => `<tr><td><a href="#${esc(r.campaign)}">${esc(r.campaign)}</a></td><td class="${r.violations.length === 0 ? 'pass' : 'failtag'}">${r.violations.length === 0 ? 'PASS' : 'FAIL'}</td><td>${totalTrials(r)}</td><td>${r.violations.length}</td><td>${(r.durationMs / 1000).toFixed(1)} s</td></tr>`)
    .join('');
  const machine = meta.machine === undefined ? '' : `<table>${Object.entries(meta.machine).map(([k, v]) => `<tr><td>${esc(k)}</td><td class="l">${esc(v)}</td></tr>`).join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222;padding:0 1em}table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}td:first-child,th:first-child,.l{text-align:left}tr.fail td{background:#fde2e1}.pass{color:#2e7d32;font-weight:bold}.failtag{color:#c62828;font-weight:bold}code{background:#f4f4f4;padding:1px 4px;font-size:12px}.chart{overflow-x:auto;margin:1em 0}</style></head><body>
<h1>${esc(title)}</h1>
${meta.command !== undefined ? `<p><code>${esc(meta.command)}</code></p>` : ''}
${meta.generatedAt !== undefined ? `<p>Generated ${esc(meta.generatedAt)}</p>` : ''}
${machine}
<table><tr><th>campaign</th><th>result</th><th>trials</th><th>violations</th><th>time</th></tr>${summary}</table>
${results.map(campaignSection).join('\n')}
</body></html>
`;
}
