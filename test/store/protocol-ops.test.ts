// The exact file-system calls of one save, per durability mode (DESIGN §5), read off the recording FileSystem.
import assert from 'node:assert/strict';
import test from 'node:test';
import { MemoryFileSystem } from '../../src/fs/memory-file-system.js';
import { RecordingFileSystem } from '../../src/fs/recording-file-system.js';
import type { Op } from '../../src/fs/op-log.js';
import { openStore } from '../../src/store/open-store.js';
import type { DurabilityMode } from '../../src/store/types.js';
import { sampleTensors } from '../helpers/tensors.js';

async function recordSave(mode: DurabilityMode): Promise<Op[]> {
  const memory = new MemoryFileSystem();
  await memory.mkdir('/data');
  const fs = new RecordingFileSystem(memory, { recording: false });
  const store = await openStore('/data/store', { fs, durability: mode });
  await store.save(1, { tensors: sampleTensors() }); // first save creates .staging
  fs.start();
  await store.save(2, { tensors: sampleTensors(2), state: { step: 2 } });
  return fs.log.filter((op) => !isAuditOrLease(op));
}

/** The audit log and the writer lease are around the save, not part of its protocol; their ops are pinned below. */
function isAuditOrLease(op: Op): boolean {
  const paths = 'path' in op ? [op.path] : [op.from, op.to];
  return paths.some((p) => p.endsWith('audit.log') || p.includes('/.lease'));
}

const describe = (op: Op): string => {
  const short = (p: string) => (p === '/data/store' ? '<root>' : p.replace('/data/store', '')).replace(/\/000000000002-[0-9a-f]{32}/, '/<stage>');
  switch (op.kind) {
    case 'rename':
      return `rename ${short(op.from)} ${short(op.to)}`;
    default:
      return `${op.kind} ${short(op.path)}`;
  }
};

test('atomic_dirsync: staging, fsync every file, fsync staging, rename, fsync both parents — in that order', async () => {
  const ops = (await recordSave('atomic_dirsync')).map(describe).filter((d) => !d.startsWith('pwrite') && !d.startsWith('truncate'));
  assert.deepEqual(ops, [
    'mkdir /.staging/<stage>',
    'syncDir /.staging',
    'create /.staging/<stage>/r0000-p000.safetensors',
    'fsync /.staging/<stage>/r0000-p000.safetensors',
    'create /.staging/<stage>/SHA256SUMS',
    'fsync /.staging/<stage>/SHA256SUMS',
    'create /.staging/<stage>/manifest.json',
    'fsync /.staging/<stage>/manifest.json',
    'syncDir /.staging/<stage>',
    'rename /.staging/<stage> /ckpt-000000000002',
    'syncDir <root>',
    'syncDir /.staging',
  ]);
});

test('atomic_nodirsync: the same files, fsynced, renamed, but no directory fsync at all', async () => {
  const ops = await recordSave('atomic_nodirsync');
  assert.equal(ops.filter((o) => o.kind === 'syncDir').length, 0);
  assert.equal(ops.filter((o) => o.kind === 'fsync' || o.kind === 'fdatasync').length, 3);
  assert.equal(ops.filter((o) => o.kind === 'rename').length, 1);
});

test('unsafe: writes straight into ckpt-<step>, no fsync; the manifest last, whole, by one rename beside it', async () => {
  const ops = await recordSave('unsafe');
  assert.deepEqual(ops.filter((o) => o.kind === 'mkdir').map(describe), ['mkdir /ckpt-000000000002']);
  assert.equal(ops.filter((o) => o.kind === 'fsync' || o.kind === 'fdatasync' || o.kind === 'syncDir').length, 0);
  const pending = (p: string) => p.replace(/\.manifest\.json\.[0-9a-f]{32}\.pending/, '.manifest.json.<nonce>.pending');
  const creates = ops.filter((o) => o.kind === 'create').map((o) => pending(describe(o)));
  assert.deepEqual(creates.slice(-2), ['create /ckpt-000000000002/SHA256SUMS', 'create /ckpt-000000000002/.manifest.json.<nonce>.pending']);
  // A reader never sees manifest.json half written: it appears in one rename, the save's last call.
  const renames = ops.filter((o) => o.kind === 'rename').map((o) => pending(describe(o)));
  assert.deepEqual(renames, ['rename /ckpt-000000000002/.manifest.json.<nonce>.pending /ckpt-000000000002/manifest.json']);
  assert.equal(ops.at(-1)?.kind, 'rename');
});

test('the writer lease around a save: retire the released record, create ours, then the same to mark it released (never fsynced: a power cut kills its holders too)', async () => {
  const memory = new MemoryFileSystem();
  await memory.mkdir('/data');
  const fs = new RecordingFileSystem(memory, { recording: false });
  const store = await openStore('/data/store', { fs, durability: 'atomic_dirsync' });
  await store.save(1, { tensors: sampleTensors() });
  fs.start();
  await store.save(2, { tensors: sampleTensors(2) });
  const leaseOps = fs.log
    .filter((op) => ('path' in op ? op.path : op.from).includes('/.lease'))
    .map((op) => (op.kind === 'rename' ? `rename ${op.from} ${op.to}` : `${op.kind} ${op.path}`).replace(/[0-9a-f]{32}/g, '<n>'))
    .filter((d) => !d.startsWith('pwrite'));
  // Every change of the record is retire (an atomic rename), check, exclusive create: acquire, then release.
  assert.deepEqual(leaseOps, [
    'rename /data/store/.lease/record /data/store/.lease/<n>.retired',
    'unlink /data/store/.lease/<n>.retired',
    'create /data/store/.lease/record',
    'rename /data/store/.lease/record /data/store/.lease/<n>.retired',
    'unlink /data/store/.lease/<n>.retired',
    'create /data/store/.lease/record',
  ]);
});
