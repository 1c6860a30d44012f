import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { fileSystemConformance } from './conformance.js';

// Tests may use node:fs only for temporary directories.
fileSystemConformance('posix', async () => {
  const root = await mkdtemp(join(tmpdir(), 'holdfast-fs-'));
  return { fs: new PosixFileSystem(), root, cleanup: () => rm(root, { recursive: true, force: true }) };
});
