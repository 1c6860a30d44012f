/** The S3-tier section of the report (s3-bench.ts), as captioned tables. */
import type { S3Report } from './s3-bench.js';
import type { S3Row } from './s3-throughput.js';
import type { TableSection } from './table-sections.js';

const MiB = 2 ** 20;
const gbps = (bps: number): string => (bps / 1e9).toFixed(3);
const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(0)}%`);

function rows(rs: readonly S3Row[]): string[][] {
  return rs.map((r) => [r.label, gbps(r.bytesPerSecond), pct(r.ofReference), (r.bytes / r.bytesPerSecond).toFixed(3), r.cpuSeconds === undefined ? '-' : r.cpuSeconds.toFixed(2), r.seconds.map((s) => s.toFixed(2)).join(' ')]);
}

export function s3Sections(r: S3Report | undefined): TableSection[] {
  if (r === undefined) return [];
  const header = ['what', 'GB/s', 'of SDK', 'median s', 'client CPU s', 'runs s'];
  const shape = `${(r.bytes / MiB).toFixed(1)} MiB in ${r.objects} object(s), ${r.partBytes / MiB} MiB parts, ${r.objectsAtOnce} objects × ${r.partsInFlight} parts in flight; ${r.endpoint}`;
  const p = r.pause;
  const k = r.killSync;
  return [
    { caption: `S3 save: ${r.description}; ${shape}`, header, rows: rows(r.save) },
    { caption: 'S3 restore', header, rows: rows(r.restore) },
    {
      caption: `saveAsync pause, ${(p.bytes / MiB).toFixed(1)} MiB, saves in a row (on the tiered store the previous upload runs meanwhile); uploads drained ${p.tieredMs.length ? (p.drainMs / 1000).toFixed(2) : '-'} s after the last local commit`,
      header: ['store', 'first ms', 'steady ms (median)', 'runs ms'],
      rows: [
        ['local only', p.localMs[0]!.toFixed(1), p.localSteadyMs.toFixed(1), p.localMs.map((x) => x.toFixed(0)).join(' ')],
        ['tiered { local, durable: s3 }', p.tieredMs[0]!.toFixed(1), p.tieredSteadyMs.toFixed(1), p.tieredMs.map((x) => x.toFixed(0)).join(' ')],
      ],
    },
    {
      caption: 'sync after a kill: an uploader SIGKILLed midway, then `holdfast sync LOCAL::DURABLE` in a new process (process start included), then the durable copy verified',
      header: ['checkpoint MiB', 'killed at MiB', 'sync s', 'sent MiB', 'sent / checkpoint', 'verify s', 'verified'],
      rows: [[(k.bytes / MiB).toFixed(1), k.killed ? (k.killedAtBytes / MiB).toFixed(1) : 'not killed (upload done)', k.syncSeconds.toFixed(2), (k.sentBytes / MiB).toFixed(1), pct(k.sentBytes / k.bytes), k.verifySeconds.toFixed(2), k.verified ? 'yes' : 'NO']],
    },
  ];
}
