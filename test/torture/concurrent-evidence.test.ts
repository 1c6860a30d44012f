import assert from 'node:assert/strict';
import { posix as path } from 'node:path';
import test from 'node:test';
import { readWholeFile } from '../../src/fs/file-utils.js';
import { PosixFileSystem } from '../../src/fs/posix-file-system.js';
import { openLocalStorage } from '../../src/storage/local-storage.js';
import { openStore } from '../../src/store/open-store.js';
import { auditedQuarantines, copyTree, describeQuarantines } from '../../src/torture/concurrent-evidence.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

test('a quarantine reason is read back from the audit log and named in the violation text', async (t) => {
  const root = tempDir(t);
  const fs = new PosixFileSystem();
  const store = await openStore(root);
  await store.save(25, { tensors: sampleTensors(25), state: { step: 25 } });
  const storage = await openLocalStorage(fs, root, { durability: 'atomic_dirsync', create: false });
  const { movedTo } = await storage.quarantine(25, 'manifest.json is not valid JSON (0 bytes)');
  const records = await auditedQuarantines(fs, root);
  assert.equal(records.length, 1);
  assert.deepEqual({ step: records[0]!.step, reason: records[0]!.reason, movedTo: records[0]!.movedTo }, { step: 25, reason: 'manifest.json is not valid JSON (0 bytes)', movedTo });
  assert.match(describeQuarantines(25, records), /quarantined because: manifest\.json is not valid JSON \(0 bytes\) \(audit pid \d+ at /);
  assert.match(describeQuarantines(24, records), /no quarantine reason recorded/);
});

test('copyTree copies a store byte for byte (a tmpfs store kept as evidence before the unmount)', async (t) => {
  const fs = new PosixFileSystem();
  const from = path.join(tempDir(t), 'store');
  const store = await openStore(from);
  await store.save(3, { tensors: sampleTensors(3), state: { step: 3 } });
  const to = path.join(tempDir(t), 'copy');
  await copyTree(fs, from, to);
  const manifest = path.join('ckpt-000000000003', 'manifest.json');
  assert.deepEqual(await readWholeFile(fs, path.join(to, manifest)), await readWholeFile(fs, path.join(from, manifest)));
  const copy = await openStore(to, { create: false });
  assert.equal((await copy.restore()).step, 3);
});
