#!/usr/bin/env node
/**
 * Runs the power-loss and I/O-error campaigns from a checkout, prints their
 * tables as Markdown (what docs/RELIABILITY.md quotes) and optionally the
 * raw `CampaignResult`s as JSON. `holdfast torture powerloss|ioerror` runs
 * the same campaigns; this script adds only the Markdown tables.
 *
 *   node dist/src/torture/powerloss-run.js [--full] [--seed N] [--campaign powerloss|ioerror|all] [--json FILE]
 *
 * Exit code 1 when a campaign reports a violation.
 */
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { posix as path } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { writeNewFile } from '../fs/file-utils.js';
import type { CampaignResult } from './campaign.js';
import { IOERROR_FULL, IOERROR_QUICK, runIoErrorCampaign } from './ioerror-campaign.js';
import { POWERLOSS_FULL, POWERLOSS_QUICK, runPowerlossCampaign } from './powerloss-campaign.js';
import { RANKS_SHAPE } from './powerloss-ranks.js';
import { formatPercent } from './wilson.js';

const fmt = (n: number | undefined): string => (n ?? 0).toLocaleString('en-US');

/** One row per shape × mode: ops, crash points, distinct states, outcomes, the guarantee with its Wilson interval. */
function formatPowerlossMarkdown(r: CampaignResult): string {
  const c = r.counters;
  const lines = [
    '| shape | mode | ops | crash points (exhaustive / sampled) | distinct states | newest | previous | nothing valid | **lost committed** | torn returned | restore threw | quarantined | resumed save ok | guarantee [95 % Wilson] |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of r.rows) {
    if (row.group.startsWith('integrity/')) continue;
    const [shape, mode] = row.group.split('/') as [string, string];
    const key = `${shape}.${mode}`;
    const o = row.outcomes;
    const resumed = o['resume-checked'] === undefined ? '—' : `${fmt(o['resume-checked']! - (o['resume-failed'] ?? 0))} / ${fmt(o['resume-checked'])}`;
    const g = row.guarantee;
    lines.push(
      `| ${shape} | ${mode} | ${fmt(c[`${key}.ops`])} | ${fmt(c[`${key}.crashPoints`])} (${fmt(c[`${key}.exhaustiveCrashPoints`])} / ${fmt(c[`${key}.sampledCrashPoints`])}) | ` +
        `${fmt(row.trials)} | ${fmt(o['newest-committed'])} | ${fmt(o['previous-committed'])} | ${fmt(o['nothing-valid'])} | **${fmt(o['lost-committed'])}** | ` +
        `${fmt(o['torn-returned'])} | ${fmt(o['restore-crashed'])} | ${fmt(o['quarantined'])} | ${resumed} | ` +
        `${fmt(g.k)}/${fmt(g.n)} = ${formatPercent(g.rate)} [${formatPercent(g.lower)}, ${formatPercent(g.upper)}]${row.required ? ' (required)' : ''} |`,
    );
  }
  lines.push('', '| mode | distinct states | restore returned torn bytes, threw, or skipped a valid checkpoint | guarantee [95 % Wilson] |', '| --- | ---: | ---: | --- |');
  for (const row of r.rows.filter((x) => x.group.startsWith('integrity/'))) {
    const g = row.guarantee;
    lines.push(`| ${row.mode} | ${fmt(row.trials)} | ${fmt(row.outcomes['integrity-broken'])} | ${fmt(g.k)}/${fmt(g.n)} = ${formatPercent(g.rate)} [${formatPercent(g.lower)}, ${formatPercent(g.upper)}] |`);
  }
  return lines.join('\n');
}

/** The multi-rank save's rows: its own checks (records whole or absent, fencing) beside restore's outcomes. */
export function formatRanksMarkdown(r: CampaignResult): string {
  const lines = [
    '| mode | ops (epoch told after / commit reported after) | distinct states | newest | previous | **lost committed** | torn returned | restore threw | **record torn** | **fencing lost** | next incarnation ok | guarantee [95 % Wilson] |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of r.rows.filter((x) => x.group.startsWith(`${RANKS_SHAPE}/`))) {
    const key = row.group.replace('/', '.');
    const o = row.outcomes;
    const g = row.guarantee;
    const resumed = o['resume-checked'] === undefined ? '—' : `${fmt(o['resume-checked']! - (o['resume-failed'] ?? 0))} / ${fmt(o['resume-checked'])}`;
    lines.push(
      `| ${row.mode} | ${fmt(r.counters[`${key}.ops`])} (#${fmt(r.counters[`${key}.epochDoneAt`]! - 1)} / #${fmt(r.counters[`${key}.commitDoneAt`]! - 1)}) | ${fmt(row.trials)} | ${fmt(o['newest-committed'])} | ${fmt(o['previous-committed'])} | ` +
        `**${fmt(o['lost-committed'])}** | ${fmt(o['torn-returned'])} | ${fmt(o['restore-crashed'])} | **${fmt(o['record-torn'])}** | **${fmt(o['fencing-lost'])}** | ${resumed} | ` +
        `${fmt(g.k)}/${fmt(g.n)} = ${formatPercent(g.rate)} [${formatPercent(g.lower)}, ${formatPercent(g.upper)}]${row.required ? ' (required)' : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Why committed checkpoints were lost, per mode: counts by reason (from the `<mode>.lost.<why>` counters). */
function formatLossReasonsMarkdown(r: CampaignResult): string {
  const lines = ['| mode | reason | states (commit had completed) | states (crash before the commit completed) |', '| --- | --- | ---: | ---: |'];
  const modes = [...new Set(r.rows.map((x) => x.mode).filter((m) => m !== undefined))];
  for (const mode of modes) {
    const reasons = new Set(
      Object.keys(r.counters)
        .filter((k) => k.startsWith(`${mode}.lost.`) || k.startsWith(`${mode}.inFlight.`))
        .map((k) => k.slice(k.indexOf('.', mode!.length + 1) + 1)),
    );
    for (const why of [...reasons].sort()) {
      lines.push(`| ${mode} | ${why} | ${fmt(r.counters[`${mode}.lost.${why}`])} | ${fmt(r.counters[`${mode}.inFlight.${why}`])} |`);
    }
  }
  return lines.join('\n');
}

/** One row per mode × fault: failure points, outcomes, the guarantee. */
function formatIoErrorMarkdown(r: CampaignResult): string {
  const lines = [
    '| mode | fault | failure points | rejected (HF_IO) | committed (fault only in audit line) | torn leftover (unsafe) | whole but rejected (unsafe) | gc before retry (unsafe) | power-loss states after | guarantee [95 % Wilson] |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of r.rows) {
    const o = row.outcomes;
    const rejected = Object.entries(o).filter(([k]) => k.startsWith('rejected:')).map(([k, n]) => (k === 'rejected:HF_IO' ? fmt(n) : `${k.slice(9)} ${fmt(n)}`)).join(', ');
    const g = row.guarantee;
    lines.push(
      `| ${row.mode} | ${row.fault} | ${fmt(row.trials)} | ${rejected || '0'} | ${fmt(o['committed'])} | ${fmt(o['torn-leftover'])} | ${fmt(o['failed-save-visible'])} | ` +
        `${fmt(o['gc-before-retry'])} | ${fmt(o['power-loss-states-after'])} | ${fmt(g.k)}/${fmt(g.n)} = ${formatPercent(g.rate)} [${formatPercent(g.lower)}, ${formatPercent(g.upper)}] |`,
    );
  }
  return lines.join('\n');
}

/** Failed calls by kind and mode (the `<mode>.failedCall.<label>` counters), summed over faults. */
function formatFailedCallsMarkdown(r: CampaignResult): string {
  const modes = [...new Set(r.rows.map((x) => x.mode!))];
  const labels = [...new Set(Object.keys(r.counters).filter((k) => k.includes('.failedCall.')).map((k) => k.slice(k.indexOf('.failedCall.') + 12)))].sort();
  const lines = [`| failed call | ${modes.join(' | ')} |`, `| --- | ${modes.map(() => '---:').join(' | ')} |`];
  for (const label of labels) lines.push(`| ${label} | ${modes.map((m) => fmt(r.counters[`${m}.failedCall.${label}`])).join(' | ')} |`);
  return lines.join('\n');
}

function machineLine(): string {
  return `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Linux ${release()}, Node.js ${process.version}`;
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const full = argv.includes('--full');
  const seed = Number(arg(argv, '--seed') ?? 1);
  const which = arg(argv, '--campaign') ?? 'all';
  const jsonPath = arg(argv, '--json');
  let last = 0;
  const onProgress = (done: number, total: number, label: string): void => {
    if (Date.now() - last < 5000 && done < total) return;
    last = Date.now();
    process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${done}/${total} ${label}\n`);
  };
  const results: CampaignResult[] = [];
  console.log(`Machine: ${machineLine()}. Preset: ${full ? 'full' : 'quick'}, seed ${seed}.\n`);
  if (which === 'all' || which === 'powerloss') {
    const r = await runPowerlossCampaign({ ...(full ? POWERLOSS_FULL : POWERLOSS_QUICK), seed, workDir: '.', onProgress });
    results.push(r);
    console.log(`## powerloss: ${fmt(r.counters['distinctStates'])} distinct states, ${fmt(r.counters['crashPoints'])} crash points, ${r.violations.length} violations, ${(r.durationMs / 1000).toFixed(1)} s\n`);
    console.log(formatPowerlossMarkdown(r), '\n');
    console.log(formatLossReasonsMarkdown(r), '\n');
    if (r.rows.some((x) => x.group.startsWith(`${RANKS_SHAPE}/`))) console.log(formatRanksMarkdown(r), '\n');
    for (const n of r.notes) console.log(`- ${n}`);
    for (const v of r.violations) console.log(`VIOLATION ${v.group} #${v.trial}: ${v.description}\n  replay: ${v.replay}`);
    console.log();
  }
  if (which === 'all' || which === 'ioerror') {
    const r = await runIoErrorCampaign({ ...(full ? IOERROR_FULL : IOERROR_QUICK), seed, workDir: '.', onProgress });
    results.push(r);
    console.log(`## ioerror: ${fmt(r.counters['trials'])} failure points, ${fmt(r.counters['crashStates'])} power-loss states after failures, ${r.violations.length} violations, ${(r.durationMs / 1000).toFixed(1)} s\n`);
    console.log(formatIoErrorMarkdown(r), '\n');
    console.log(formatFailedCallsMarkdown(r), '\n');
    for (const n of r.notes) console.log(`- ${n}`);
    for (const v of r.violations) console.log(`VIOLATION ${v.group} #${v.trial}: ${v.description}\n  replay: ${v.replay}`);
  }
  if (jsonPath !== undefined) await writeNewFile(new PosixFileSystem(), path.resolve(jsonPath), new TextEncoder().encode(JSON.stringify(results, null, 2) + '\n'), { sync: false });
  return results.some((r) => r.violations.length > 0) ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(2);
    },
  );
}
