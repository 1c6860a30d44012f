// A child process that uploads a tiered store's checkpoints and freezes at a chosen instant, for the
// parent to SIGKILL: `node tier-upload-child.js <local> <durable> <freezeAfterBytes>`. It prints
// `frozen <doneBytes>` on stdout once at least that many bytes of the upload are settled, then
// blocks its event loop, so no later part is sent, until it is killed.
import { writeSync } from 'node:fs';
import { openStore } from '../../src/store/open-store.js';
import type { TieredStore } from '../../src/store/types.js';

const [local, durable, freezeAfter] = process.argv.slice(2) as [string, string, string];
const store = (await openStore(
  { local, durable, upload: 'manual' },
  {
    onEvent: (e) => {
      if (e.type !== 'progress' || e.doneBytes < Number(freezeAfter)) return;
      writeSync(1, `frozen ${e.doneBytes}\n`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    },
  },
)) as TieredStore;
await store.sync();
writeSync(1, 'finished\n');
await store.close();
