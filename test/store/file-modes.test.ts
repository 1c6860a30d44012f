/**
 * Everything a store writes on the real disk is private by default (files 0600, directories 0700),
 * whatever the umask allows: checkpoints, staging, quarantine, records, the lease, the audit log and
 * the descriptor. A store created inside a world-writable directory is warned about.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { runCli } from '../../src/cli/main.js';
import type { StoreEvent } from '../../src/store/types.js';
import { openStore } from '../../src/store/open-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sampleTensors } from '../helpers/tensors.js';

/** Every entry under `root` with its permission bits, as `relative path → mode`. */
function modes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    out.set(p.slice(root.length + 1), lstatSync(p).mode & 0o7777);
  }
  return out;
}

test('a store\'s files are 0600 and its directories 0700 by default, in every place it writes', async (t) => {
  const root = join(tempDir(t), 'store');
  const previous = process.umask(0o000); // the most permissive umask: the modes must come from Holdfast
  t.after(() => process.umask(previous));
  const store = await openStore(root);
  await store.save(1, { tensors: sampleTensors(1), state: 1 }, { incremental: true });
  await store.save(2, { tensors: sampleTensors(2), state: 2 }, { incremental: true });
  await store.save(3, { tensors: sampleTensors(3), state: 3 });
  await store.tag(1, 'first');
  // A damaged newest checkpoint: latest() quarantines it.
  const shard = join(root, 'ckpt-000000000003', 'r0000-p000.safetensors');
  writeFileSync(shard, 'garbage', { flag: 'r+' });
  assert.equal((await store.latest())?.step, 2);
  await store.gc({ keepLast: 1 });
  await store.close();
  const found = modes(root);
  for (const place of ['holdfast.json', 'audit.log', '.records/tag.first', '.lease/record', 'ckpt-000000000002/manifest.json', '.staging', '.quarantine', '.records', '.lease', 'ckpt-000000000001']) {
    assert.ok(found.has(place), `${place} exists (found ${[...found.keys()].join(', ')})`);
  }
  assert.ok([...found.keys()].some((p) => p.startsWith('.quarantine/ckpt-000000000003')), 'the quarantined checkpoint');
  for (const [p, mode] of found) {
    const dir = lstatSync(join(root, p)).isDirectory();
    assert.equal(mode, dir ? 0o700 : 0o600, `${p}: mode 0${mode.toString(8)}`);
  }
  assert.equal(lstatSync(root).mode & 0o7777, 0o700, 'the store directory');
});

test('creating a store inside a world-writable directory warns (a StoreEvent, a CLI stderr line); a private parent does not', async (t) => {
  const base = tempDir(t);
  const open = join(base, 'open');
  const shared = join(base, 'shared');
  mkdirSync(open);
  mkdirSync(shared);
  chmodSync(open, 0o777);
  chmodSync(shared, 0o1777);
  const events: StoreEvent[] = [];
  const onEvent = (e: StoreEvent): void => void events.push(e);
  await (await openStore(join(open, 'a', 'store'), { onEvent })).close();
  await (await openStore(join(shared, 'store'), { onEvent })).close();
  await (await openStore(join(base, 'private-store'), { onEvent })).close();
  // Opening an existing store is not creating one.
  await (await openStore(join(open, 'a', 'store'), { onEvent })).close();
  assert.equal(events.length, 2, JSON.stringify(events));
  assert.deepEqual(events.map((e) => e.type), ['warning', 'warning']);
  const [first, second] = events.map((e) => (e.type === 'warning' ? e.message : ''));
  assert.match(first!, new RegExp(`inside the world-writable directory ${open} \\(mode 0777\\): without the sticky bit, other users can rename or delete it`));
  assert.match(second!, new RegExp(`inside the world-writable directory ${shared} \\(mode 01777\\): other users can create names beside it`));
  assert.equal(lstatSync(join(open, 'a')).mode & 0o777, 0o700, 'directories created on the way are private');

  const input = join(base, 'w.bin');
  writeFileSync(input, 'weights');
  let stderr = '';
  const code = await runCli(['commit', join(open, 'cli-store'), '--step', '1', input], { stdout: () => undefined, stderr: (l) => (stderr += l + '\n') });
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^holdfast commit: warning: store .*cli-store is being created inside the world-writable directory/m);
});
