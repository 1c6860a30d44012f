/**
 * Encryption at rest beside plain: `store.save` (atomic_dirsync, direct) and
 * `store.restore` (full verification) of the same state through a plain store
 * and a store with an encryption key, interleaved run by run (plain save,
 * encrypted save, plain restore, encrypted restore), so a machine whose load
 * drifts during the benchmark shifts both alike and their ratio is the cost of
 * sealing and opening every 8 MiB record in the hashing pass. The key is
 * random per run: the rows measure the cipher, not a secret.
 */
import { randomBytes } from 'node:crypto';
import { posix as path } from 'node:path';
import { openStore, type Store } from '../index.js';
import { removeTree } from '../fs/file-utils.js';
import { hashLimit } from './limit-steps.js';
import { measurement, sample } from './sampling.js';
import type { Measurement } from './types.js';
import type { WorkloadRun } from './workload-run.js';

const VARIANTS = ['plain', 'encrypted'] as const;

export async function encryptionRows(run: WorkloadRun, writeLimit: number | undefined, readLimit: number | undefined): Promise<{ save: Measurement[]; restore: Measurement[] }> {
  const stores: Record<(typeof VARIANTS)[number], Store> = {
    plain: await openStore(path.join(run.dir, 'store-plain'), { runtime: run.io }),
    encrypted: await openStore(path.join(run.dir, 'store-encrypted'), { runtime: run.io, encryption: { key: randomBytes(32) } }),
  };
  const save = { plain: [] as number[], encrypted: [] as number[] };
  const restore = { plain: [] as number[], encrypted: [] as number[] };
  try {
    for (let i = 0; i < Math.min(run.repeat, run.small ? run.repeat : 3); i++) {
      const step = run.nextStep();
      const saved = [];
      for (const v of VARIANTS) saved.push(await sample(save[v], () => stores[v].save(step, { tensors: run.tensors, state: { step } })));
      for (const v of VARIANTS) await sample(restore[v], () => stores[v].restore(step));
      for (const s of saved) await removeTree(run.fs, s.path);
    }
  } finally {
    for (const v of VARIANTS) await stores[v].close();
    for (const v of VARIANTS) await removeTree(run.fs, path.join(run.dir, `store-${v}`));
  }
  const bytes = run.workload.bytes;
  const label = (v: string): string => (v === 'plain' ? 'plain, interleaved with the encrypted row' : 'encrypted (AES-256-GCM records)');
  // The CPU ceiling of each encrypted row: its workers' pass (hash + cipher) with no I/O.
  const sealLimit = await hashLimit(run, 'seal');
  const openLimit = await hashLimit(run, 'open');
  const cpuRow = (op: string, l: { seconds: number[]; workers: number }, limit: number | undefined): Measurement =>
    measurement({ label: `limit: SHA-256 + AES-256-GCM ${op}, ${l.workers} hashing workers at once, in memory, no I/O`, kind: 'limit', bytes, seconds: l.seconds }, limit);
  return {
    save: [...VARIANTS.map((v) => measurement({ label: `Holdfast save, atomic_dirsync, direct, ${label(v)}`, kind: 'holdfast', mode: 'atomic_dirsync', method: 'direct', bytes, seconds: save[v] }, writeLimit)), cpuRow('seal', sealLimit, writeLimit)],
    restore: [...VARIANTS.map((v) => measurement({ label: `Holdfast restore + full verify, ${label(v)}`, kind: 'holdfast', method: 'direct', bytes, seconds: restore[v] }, readLimit)), cpuRow('open', openLimit, readLimit)],
  };
}
