/**
 * Encryption at rest beside the plain rows: `store.save` (atomic_dirsync,
 * direct) and `store.restore` (full verification) of the same state through a
 * store with an encryption key, so the cost of sealing and opening every
 * 8 MiB record on the cipher workers reads straight off the plain rows above
 * it. The key is random per run: the rows measure the cipher, not a secret.
 */
import { randomBytes } from 'node:crypto';
import { posix as path } from 'node:path';
import { openStore } from '../index.js';
import { removeTree } from '../fs/file-utils.js';
import { measurement, sample } from './sampling.js';
import type { Measurement } from './types.js';
import type { WorkloadRun } from './workload-run.js';

export async function encryptionRows(run: WorkloadRun, writeLimit: number | undefined, readLimit: number | undefined): Promise<{ save: Measurement[]; restore: Measurement[] }> {
  const dir = path.join(run.dir, 'store-encrypted');
  const store = await openStore(dir, { runtime: run.io, encryption: { key: randomBytes(32) } });
  const save: number[] = [];
  const restore: number[] = [];
  try {
    const times = Math.min(run.repeat, run.small ? run.repeat : 3);
    for (let i = 0; i < times; i++) {
      const step = run.nextStep();
      const saved = await sample(save, () => store.save(step, { tensors: run.tensors, state: { step } }));
      await sample(restore, () => store.restore(step));
      await removeTree(run.fs, saved.path);
    }
  } finally {
    await store.close();
    await removeTree(run.fs, dir);
  }
  const bytes = run.workload.bytes;
  return {
    save: [measurement({ label: 'Holdfast save, atomic_dirsync, direct, encrypted (AES-256-GCM)', kind: 'holdfast', mode: 'atomic_dirsync', method: 'direct', bytes, seconds: save }, writeLimit)],
    restore: [measurement({ label: 'Holdfast restore + full verify, encrypted (AES-256-GCM)', kind: 'holdfast', method: 'direct', bytes, seconds: restore }, readLimit)],
  };
}
