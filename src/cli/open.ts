/**
 * How commands open a store. Read-only commands never create anything: a
 * missing directory, or one without `holdfast.json`, is "no store" (exit 1)
 * rather than a store initialised as a side effect of `ls` or `verify`.
 * Store events (quarantine, progress) are reported on stderr.
 */
import { posix as path } from 'node:path';
import { STORE_DESCRIPTOR } from '../format/names.js';
import { statOrUndefined } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { invalidArg } from '../errors.js';
import { HoldfastError, encryptionFromEnv, openStore, signingFromEnv, type DurabilityMode, type Store, type StoreEvent, type StoreOptions, type TieredStore } from '../index.js';
import type { CliIo } from './command.js';
import { escapeControl } from './output.js';
import { TransferMeter } from './transfer-meter.js';

/**
 * `LOCAL::DURABLE` names a tiered store: a local directory and the durable store its checkpoints
 * are uploaded to, e.g. `/nvme/run1::s3://bucket/run1`.
 */
export const TIERED_SPEC_HELP = 'a store is a directory, an s3://bucket/prefix URL, or a tiered store LOCAL::DURABLE (e.g. /nvme/run1::s3://bucket/run1)';

export function parseTieredSpec(spec: string): { local: string; durable: string } | undefined {
  const at = spec.indexOf('::');
  if (at < 0) return undefined;
  const local = spec.slice(0, at);
  const durable = spec.slice(at + 2);
  if (local === '' || durable === '') throw invalidArg(`a tiered store is LOCAL::DURABLE with both parts given, got ${JSON.stringify(spec)}`);
  return { local, durable };
}

/**
 * A tiered store for a command: readers open it `manual`, so `ls` or `verify` never start an
 * upload; `commit` opens it `background` and waits for the upload at `close()`. Its local directory is created if missing: a replaced node starts with an empty
 * one, and restores from the durable tier.
 */
export async function openTieredForCommand(command: string, spec: { local: string; durable: string }, io: CliIo, upload: 'background' | 'manual', durability?: DurabilityMode): Promise<TieredStore> {
  const options = { create: true, onEvent: reportEvents(command, io), ...(durability ? { durability } : {}), ...keyOptions() };
  return (await openStore({ ...spec, upload }, options)) as TieredStore;
}

/** Opens an existing store without creating or writing anything to open it. */
export async function openExistingStore(command: string, root: string, io: CliIo): Promise<Store> {
  const tiered = parseTieredSpec(root);
  if (tiered !== undefined) return openTieredForCommand(command, tiered, io, 'manual');
  if (root.startsWith('s3://')) return openStore(root, { create: false, onEvent: reportEvents(command, io), ...keyOptions() });
  const fs = new PosixFileSystem();
  const absRoot = path.resolve(root);
  const st = await statOrUndefined(fs, absRoot);
  // openStore would write a fresh descriptor into any directory; for a reader that is not a store.
  if (st?.type === 'directory' && (await statOrUndefined(fs, path.join(absRoot, STORE_DESCRIPTOR))) === undefined) {
    throw new HoldfastError('HF_NOT_FOUND', `no store at ${absRoot} (a directory without ${STORE_DESCRIPTOR})`, { path: absRoot });
  }
  return openStore(absRoot, { fs, create: false, onEvent: reportEvents(command, io), ...keyOptions() });
}

/**
 * Keys named by HOLDFAST_HMAC_KEY(_FILE), HOLDFAST_SIGNING_KEY_FILE, HOLDFAST_VERIFY_KEY_FILE: then checkpoints are signed and must be;
 * by HOLDFAST_ENCRYPTION_KEY(_FILE): then saves are encrypted and encrypted checkpoints can be restored.
 */
function keyOptions(): Pick<StoreOptions, 'signing' | 'encryption'> {
  const signing = signingFromEnv();
  const encryption = encryptionFromEnv();
  return { ...(signing === undefined ? {} : { signing }), ...(encryption === undefined ? {} : { encryption }) };
}

/** Opens a store for writing, creating it if missing; the caller closes it (a tiered store's close waits for its uploads). */
export function openOrCreateStore(command: string, root: string, io: CliIo, durability?: DurabilityMode): Promise<Store> {
  const tiered = parseTieredSpec(root);
  if (tiered !== undefined) return openTieredForCommand(command, tiered, io, 'background', durability);
  return openStore(root, { create: true, onEvent: reportEvents(command, io), ...(durability ? { durability } : {}), ...keyOptions() });
}

function reportEvents(command: string, io: CliIo): (event: StoreEvent) => void {
  const meters = new Map<string, TransferMeter>();
  return (event) => {
    if (event.type === 'quarantined') {
      io.stderr(escapeControl(`holdfast ${command}: checkpoint ${event.step} failed verification (${event.reason}); quarantined to ${event.movedTo}`));
    } else if (event.type === 'warning') {
      io.stderr(escapeControl(`holdfast ${command}: warning: ${event.message}`));
    } else if (event.type === 'progress' && io.progress !== undefined && event.totalBytes > 0) {
      // Rate and time left per phase (`upload 1200`): each has its own start.
      let meter = meters.get(event.phase);
      if (meter === undefined) meters.set(event.phase, (meter = new TransferMeter(io)));
      meter.update(event.phase, event);
    }
    // 'rolled-back' follows each 'quarantined' and says nothing new on a terminal.
  };
}
