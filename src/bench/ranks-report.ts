/** The many-ranks section of the report (ranks-rows.ts), as captioned tables. */
import type { RanksReport } from './ranks-rows.js';
import { median } from './stats.js';
import type { TableSection } from './table-sections.js';

const gbps = (bps: number): string => (bps / 1e9).toFixed(2);
const ms = (s: number[]): string => (median(s) * 1000).toFixed(0);
const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(0)}%`);

export function ranksSections(r: RanksReport | undefined): TableSection[] {
  if (r === undefined) return [];
  return [
    {
      caption: `save by N rank processes, each its flat slice of every tensor of one state: ${r.description}; ${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${r.tensors} tensors. Total = first rank's start to the leader's commit; data = to the last rank's record; commit = the leader, every record seen to committed`,
      header: ['ranks', 'GB/s', 'fio same jobs GB/s', 'of fio', 'total ms', 'data ms', 'records seen +ms', 'commit ms', 'CPU s (all)', 'runs ms'],
      rows: r.saves.map((s) => [
        String(s.worldSize),
        gbps(s.bytesPerSecond),
        s.fioBytesPerSecond === undefined ? '-' : gbps(s.fioBytesPerSecond),
        pct(s.ratioToFio),
        ms(s.seconds),
        ms(s.dataWriteSeconds),
        ms(s.recordsSeenSeconds),
        ms(s.commitSeconds),
        median(s.cpuSeconds).toFixed(1),
        s.seconds.map((x) => (x * 1000).toFixed(0)).join(' '),
      ]),
    },
    {
      caption: 'restore by N reader processes, each only its flat parts (restore({ layout, into }), full verification), first start to last end',
      header: ['saved by', 'restored by', 'GB/s', 'of same world', 'median ms', 'CPU s (all)', 'runs ms'],
      rows: r.restores.map((x) => [String(x.savedBy), String(x.restoredBy), gbps(x.bytesPerSecond), pct(x.ratioToSameWorld), ms(x.seconds), median(x.cpuSeconds).toFixed(1), x.seconds.map((s) => (s * 1000).toFixed(0)).join(' ')]),
    },
  ];
}
