/**
 * Renders a `BenchReport`: plain-text tables for the terminal and a single
 * self-contained HTML page whose charts are inline SVG (no script, no
 * network, opens offline). Contract: pure functions of the report; every
 * number shown is in the JSON form too.
 */
import { growthHtml, growthText } from './growth-report.js';
import { ranksSections } from './ranks-report.js';
import { s3Sections } from './s3-report.js';
import { sectionsHtml, sectionsText } from './table-sections.js';
import { stagingBudgetHtml, stagingBudgetText } from './staging-budget-report.js';
import type { BenchReport, Measurement, WorkloadResult } from './types.js';

const GB = 1e9;
const MiB = 2 ** 20;

function gbps(bps: number): string {
  return (bps / GB).toFixed(2);
}

function ratio(m: Measurement): string {
  return m.ratioToFio === undefined ? '-' : `${(m.ratioToFio * 100).toFixed(0)}%`;
}

function cores(m: Measurement): string {
  return m.cores === undefined ? '-' : m.cores.toFixed(2);
}

function freshRatio(m: Measurement): string {
  return m.ratioToFreshRead === undefined ? '-' : `${(m.ratioToFreshRead * 100).toFixed(0)}%`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export function renderText(r: BenchReport): string[] {
  const out: string[] = [];
  out.push(`holdfast bench: ${r.machine.cores} cores, ${(r.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${r.machine.cpu}, Linux ${r.machine.kernel}, ${r.machine.mount}`);
  for (const w of r.workloads) {
    out.push('', `== ${w.name}: ${w.description}; ${w.tensors} tensors, ${(w.bytes / MiB).toFixed(1)} MiB`);
    out.push('', 'save', ...table(['what', 'GB/s', 'of fio', 'median s', 'cores'], w.save.map((m) => [m.label, gbps(m.bytesPerSecond), ratio(m), (m.bytes / m.bytesPerSecond).toFixed(3), cores(m)])));
    out.push(
      '',
      'restore',
      ...table(['what', 'GB/s', 'of fio', 'of fresh read', 'median s', 'cores'], w.restore.map((m) => [m.label, gbps(m.bytesPerSecond), ratio(m), freshRatio(m), (m.bytes / m.bytesPerSecond).toFixed(3), cores(m)])),
    );
    out.push(
      '',
      'save latency',
      ...table(
        ['mode / method', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'vs unsafe'],
        w.latency.map((l) => [`${l.mode} / ${l.method}`, String(l.samples), l.p50Ms.toFixed(1), l.p90Ms.toFixed(1), l.p99Ms.toFixed(1), `${l.overheadVsUnsafe >= 0 ? '+' : ''}${(l.overheadVsUnsafe * 100).toFixed(0)}%`]),
      ),
    );
    if (w.async) {
      const a = w.async;
      out.push(
        '',
        `saveAsync pause: first ${a.firstPauseMs.toFixed(1)} ms (${a.reservedFirstPauseMs.toFixed(1)} ms after reserve()), then ${a.steadyPauseMs.toFixed(1)} ms; ` +
          `one memcpy of the state ${a.memcpyMs.toFixed(1)} ms (${a.freshMemcpyMs.toFixed(1)} ms into new memory); committed after ${a.committedMs.toFixed(0)} ms`,
      );
    }
    out.push(...stagingBudgetText(w.stagingBudget, table));
  }
  out.push(...growthText(r.growth, table));
  out.push(...sectionsText('S3 tier', s3Sections(r.s3), table), ...sectionsText('Many ranks', ranksSections(r.ranks), table));
  out.push('', `took ${r.seconds.toFixed(0)} s`);
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLORS: Record<Measurement['kind'], string> = { fio: '#888', baseline: '#d9822b', holdfast: '#2b6cb0', 'io-layer': '#38a169', limit: '#805ad5' };

function barChart(title: string, rows: { label: string; value: number; color: string; text: string }[], limit?: number): string {
  const labelW = 360;
  const barW = 420;
  const rowH = 22;
  const h = rows.length * rowH + 40;
  const max = Math.max(limit ?? 0, ...rows.map((r) => r.value)) * 1.05 || 1;
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * rowH;
      const w = Math.max(1, (r.value / max) * barW);
      return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${r.color}"/><text x="${labelW + w + 4}" y="${y + 15}">${esc(r.text)}</text>`;
    })
    .join('');
  const limitLine =
    limit === undefined
      ? ''
      : `<line x1="${labelW + (limit / max) * barW}" x2="${labelW + (limit / max) * barW}" y1="24" y2="${h - 8}" stroke="#c53030" stroke-dasharray="4 3"/><text x="${labelW + (limit / max) * barW}" y="20" text-anchor="middle" fill="#c53030">fio limit</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 120}" height="${h}" font-family="sans-serif" font-size="12"><text x="0" y="14" font-weight="bold">${esc(title)}</text>${bars}${limitLine}</svg>`;
}

function workloadHtml(w: WorkloadResult): string {
  const bw = (ms: Measurement[]): { label: string; value: number; color: string; text: string }[] =>
    ms.map((m) => ({ label: m.label, value: m.bytesPerSecond / GB, color: COLORS[m.kind], text: `${gbps(m.bytesPerSecond)} GB/s${m.ratioToFio === undefined ? '' : ` (${ratio(m)})`}` }));
  const lat = w.latency.flatMap((l) => [
    { label: `${l.mode} / ${l.method} p50`, value: l.p50Ms, color: '#2b6cb0', text: `${l.p50Ms.toFixed(1)} ms` },
    { label: `${l.mode} / ${l.method} p99`, value: l.p99Ms, color: '#90cdf4', text: `${l.p99Ms.toFixed(1)} ms` },
  ]);
  const rows = (ms: Measurement[], fresh = false): string =>
    ms
      .map((m) => `<tr><td>${esc(m.label)}</td><td>${gbps(m.bytesPerSecond)}</td><td>${ratio(m)}</td>${fresh ? `<td>${freshRatio(m)}</td>` : ''}<td>${m.seconds.map((s) => s.toFixed(3)).join(' ')}</td><td>${cores(m)}</td></tr>`)
      .join('');
  const a = w.async;
  return `<h2>${esc(w.name)}</h2><p>${esc(w.description)}; ${w.tensors} tensors, ${(w.bytes / MiB).toFixed(1)} MiB per checkpoint.</p>
${barChart('Save bandwidth (GB/s)', bw(w.save), w.fioWriteLimit === undefined ? undefined : w.fioWriteLimit / GB)}
${barChart('Restore bandwidth (GB/s)', bw(w.restore), w.fioReadLimit === undefined ? undefined : w.fioReadLimit / GB)}
${barChart('Save latency per checkpoint (ms)', lat)}
<table><tr><th>save</th><th>GB/s</th><th>of fio</th><th>seconds per run</th><th>cores</th></tr>${rows(w.save)}</table>
<table><tr><th>restore</th><th>GB/s</th><th>of fio</th><th>of fresh read</th><th>seconds per run</th><th>cores</th></tr>${rows(w.restore, true)}</table>
<table><tr><th>mode / method</th><th>n</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>vs unsafe</th></tr>${w.latency
    .map((l) => `<tr><td>${l.mode} / ${l.method}</td><td>${l.samples}</td><td>${l.p50Ms.toFixed(1)}</td><td>${l.p90Ms.toFixed(1)}</td><td>${l.p99Ms.toFixed(1)}</td><td>${(l.overheadVsUnsafe * 100).toFixed(0)}%</td></tr>`)
    .join('')}</table>
${a ? `<p>saveAsync pause: first ${a.firstPauseMs.toFixed(1)} ms (staging memory allocated; ${a.reservedFirstPauseMs.toFixed(1)} ms when reserved up front), then ${a.steadyPauseMs.toFixed(1)} ms; one memcpy of the state: ${a.memcpyMs.toFixed(1)} ms (${a.freshMemcpyMs.toFixed(1)} ms into new memory); committed after ${a.committedMs.toFixed(0)} ms.</p>` : ''}
${stagingBudgetHtml(w.stagingBudget, esc)}`;
}

export function renderHtml(r: BenchReport): string {
  const m = r.machine;
  return `<!doctype html><html><head><meta charset="utf-8"><title>holdfast bench</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}code{background:#f4f4f4;padding:1px 4px}</style></head><body>
<h1>holdfast bench</h1>
<p>${esc(r.startedAt)}, ${r.seconds.toFixed(0)} s. Machine: ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${esc(m.cpu)}, Linux ${esc(m.kernel)}, Node ${esc(m.node)}; directory ${esc(r.dir)} on ${esc(m.mount)}; ${esc(m.fio)}.</p>
<p>Grey: fio (the physical limit, faster of its two runs per shape); orange: naive baselines; blue: Holdfast public API; green: the io layer alone; purple: limits of this machine below the disk's (SHA-256 on every hashing worker; reading into, or touching, freshly allocated memory). "of fresh read" is a restore row against reading the same files into fresh memory without hashing; "cores" is the process's CPU time over wall time (all threads).</p>
${r.workloads.map(workloadHtml).join('\n')}
${growthHtml(r.growth, esc)}
${sectionsHtml('S3 tier', s3Sections(r.s3), esc)}${sectionsHtml('Many ranks', ranksSections(r.ranks), esc)}
<h2>fio commands</h2>${[...r.fioCommands, ...(r.ranks?.fioCommands ?? [])].map((c) => `<p><code>${esc(c)}</code></p>`).join('')}
</body></html>
`;
}
