/**
 * The growth sweeps as text tables and as small inline-SVG line charts (both
 * axes logarithmic, so a straight line is a power law and a bend shows where
 * a different cost takes over). report.ts places them; pure functions.
 */
import type { GrowthReport, GrowthSweep } from './growth.js';
import { median } from './stats.js';

const MiB = 2 ** 20;

function xText(s: GrowthSweep, x: number): string {
  return s.x === 'bytes' ? `${(x / MiB).toFixed(0)} MiB` : x.toLocaleString('en-US');
}

function unit(s: GrowthSweep): string {
  return s.x === 'bytes' ? 'GB/s' : s.x === 'tensors' ? 'µs per tensor' : 'µs per checkpoint';
}

/** Per point: x, the medians of both series, and what each costs per unit of x (how the curve bends). */
function rows(s: GrowthSweep): string[][] {
  const per = (sec: number, x: number): string => (s.x === 'bytes' ? (x / sec / 1e9).toFixed(2) : ((sec / x) * 1e6).toFixed(1));
  return s.points.map((p) => {
    const a = median(p.a);
    const b = median(p.b);
    return [xText(s, p.x), a.toFixed(3), b.toFixed(3), per(a, p.x), per(b, p.x)];
  });
}

function header(s: GrowthSweep): string[] {
  const name = (series: string): string => series.replace(/ s$/, '');
  return [s.x, `${s.a} (median)`, `${s.b} (median)`, `${name(s.a)} ${unit(s)}`, `${name(s.b)} ${unit(s)}`];
}

export function growthText(g: GrowthReport | undefined, table: (header: string[], rows: string[][]) => string[]): string[] {
  if (g === undefined) return [];
  return g.sweeps.flatMap((s) => ['', `== growth: ${s.name}`, ...table(header(s), rows(s))]);
}

function lineChart(s: GrowthSweep, esc: (s: string) => string): string {
  const W = 420;
  const H = 220;
  const L = 56;
  const B = 34;
  const pts = s.points.filter((p) => p.x > 0);
  if (pts.length === 0) return '';
  const ys = pts.flatMap((p) => [median(p.a), median(p.b)]).filter((y) => y > 0);
  const lx = (x: number): number => Math.log10(x);
  const [x0, x1] = [lx(pts[0]!.x), lx(pts[pts.length - 1]!.x)];
  const [y0, y1] = [Math.log10(Math.min(...ys)) - 0.1, Math.log10(Math.max(...ys)) + 0.1];
  const px = (x: number): number => L + ((lx(x) - x0) / (x1 - x0 || 1)) * (W - L - 40);
  const py = (y: number): number => H - B - ((Math.log10(Math.max(y, 1e-9)) - y0) / (y1 - y0 || 1)) * (H - B - 24);
  const series = (pick: (p: GrowthSweep['points'][number]) => number[], color: string, name: string, k: number): string => {
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(median(pick(p))).toFixed(1)}`).join('');
    const dots = pts.map((p) => `<circle cx="${px(p.x).toFixed(1)}" cy="${py(median(pick(p))).toFixed(1)}" r="3" fill="${color}"/>`).join('');
    return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>${dots}<text x="${L + 8 + k * 120}" y="36" fill="${color}">${esc(name)}</text>`;
  };
  const xTicks = pts.map((p) => `<text x="${px(p.x).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${esc(xText(s, p.x))}</text>`).join('');
  const yTicks: string[] = [];
  for (let e = Math.ceil(y0); e <= Math.floor(y1); e++) {
    const v = 10 ** e;
    yTicks.push(`<line x1="${L}" x2="${W - 10}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/><text x="${L - 4}" y="${py(v) + 4}" text-anchor="end">${v >= 1 ? v.toFixed(0) : v.toPrecision(1)} s</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11"><text x="0" y="14" font-weight="bold">${esc(`${s.name}: seconds (log) against ${s.x} (log)`)}</text>${yTicks.join('')}<line x1="${L}" x2="${L}" y1="24" y2="${H - B}" stroke="#888"/><line x1="${L}" x2="${W - 10}" y1="${H - B}" y2="${H - B}" stroke="#888"/>${xTicks}${series((p) => p.a, '#2b6cb0', s.a, 0)}${series((p) => p.b, '#d9822b', s.b, 1)}</svg>`;
}

export function growthHtml(g: GrowthReport | undefined, esc: (s: string) => string): string {
  if (g === undefined) return '';
  const tables = g.sweeps.map((s) => {
    const h = header(s).map((c) => `<th>${esc(c)}</th>`).join('');
    const body = rows(s).map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
    return `<h3>${esc(s.name)}</h3>${lineChart(s, esc)}<table><tr>${h}</tr>${body}</table>`;
  });
  return `<h2>How cost grows</h2><p>Each point is a fresh store (median of its runs); docs/PERFORMANCE.md says where each curve bends and why.</p>${tables.join('\n')}`;
}
