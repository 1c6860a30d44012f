/** The staging-budget table of a workload, as text and as HTML (report.ts places it). */
import type { StagingBudgetRow } from './types.js';

const MiB = 2 ** 20;
const mib = (n: number): string => (n / MiB).toFixed(0);

const HEADER = ['budget MiB', 'staged MiB', 'deferred MiB', 'copy ms', 'pause ms', 'predicted ms', 'committed ms', 'peak RSS MiB', 'before+state MiB', 'overhead MiB'];

function cells(r: StagingBudgetRow): string[] {
  return [
    r.budgetBytes === null ? 'none' : mib(r.budgetBytes),
    mib(r.stagedBytes),
    mib(r.deferredBytes),
    r.copyMs.toFixed(0),
    r.pauseMs.toFixed(0),
    r.predictedPauseMs.toFixed(0),
    r.committedMs.toFixed(0),
    mib(r.peakRssBytes),
    mib(r.rssBeforeStateBytes + r.stateBytes),
    mib(r.overheadBytes),
  ];
}

function caption(rows: readonly StagingBudgetRow[]): string {
  const r = rows[0]!;
  return (
    `saveAsync within a staging budget, one process per row, its second save: ${mib(r.stateBytes)} MiB state in ${mib(r.shardBytes)} MiB shard files; ` +
    'pause = call to snapshotted; predicted = copy + deferred / steady-state save bandwidth; overhead = peak − (before + state) − staged'
  );
}

export function stagingBudgetText(rows: readonly StagingBudgetRow[] | undefined, table: (header: string[], rows: string[][]) => string[]): string[] {
  if (rows === undefined || rows.length === 0) return [];
  return ['', caption(rows), ...table(HEADER, rows.map(cells))];
}

export function stagingBudgetHtml(rows: readonly StagingBudgetRow[] | undefined, esc: (s: string) => string): string {
  if (rows === undefined || rows.length === 0) return '';
  return `<p>${esc(caption(rows))}</p><table><tr>${HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${cells(r).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>`;
}
