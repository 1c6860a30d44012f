/**
 * What people do without Holdfast, measured through the same FileSystem:
 * `one-file-per-tensor` (a buffered file per tensor, each fsynced, then the
 * directory: the "naive" TorchSnapshot-like layout seed 002 warns about) and
 * `single-file` (every tensor appended to one buffered file, then one fsync:
 * what `torch.save` + fsync does). Neither hashes, stages or renames, so
 * both are kinder to themselves than Holdfast is.
 */
import { posix as path } from 'node:path';
import { tensorBytes, type Tensor } from '../format/dtype.js';
import type { FileSystem } from '../fs/file-system.js';

export async function writeOneFilePerTensor(fs: FileSystem, dir: string, tensors: Record<string, Tensor>): Promise<number> {
  await fs.mkdir(dir);
  let bytes = 0;
  let i = 0;
  for (const t of Object.values(tensors)) {
    const fh = await fs.open(path.join(dir, `t${i++}.bin`), 'create');
    try {
      const b = tensorBytes(t);
      await fh.pwrite(b, 0);
      await fh.sync();
      bytes += b.byteLength;
    } finally {
      await fh.close();
    }
  }
  await fs.syncDir(dir);
  return bytes;
}

export async function writeSingleFile(fs: FileSystem, file: string, tensors: Record<string, Tensor>): Promise<number> {
  const fh = await fs.open(file, 'create');
  let bytes = 0;
  try {
    for (const t of Object.values(tensors)) {
      const b = tensorBytes(t);
      await fh.pwrite(b, bytes);
      bytes += b.byteLength;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.syncDir(path.dirname(file));
  return bytes;
}
