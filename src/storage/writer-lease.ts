/**
 * One writer at a time per store. A lease is a small record (host, pid,
 * token, epoch, renewal time, time to live) created exclusively where the
 * backend allows it, renewed while its owner writes, and taken over only when
 * it has expired or its owner is provably dead on this host. Every commit and
 * every deletion checks that its lease is still current (`assertCurrent`), so
 * a writer that was paused past its expiry and taken over cannot commit or
 * delete afterwards. Readers never need the lease.
 *
 * Limits, stated: expiry compares wall clocks, so hosts sharing a store need
 * clocks closer than the time to live; and a check and the commit that
 * follows it are two steps, so a writer paused for longer than the time to
 * live exactly between them is not fenced (the commit itself stays atomic).
 */
import { hostname } from 'node:os';
import { HoldfastError } from '../errors.js';
import { sameBytes } from '../format/bytes.js';
import { newNonce } from '../format/nonce.js';
import type { LeaseBackend } from './checkpoint-storage.js';

export interface LeaseRecord {
  host: string;
  pid: number;
  token: string;
  epoch: number;
  /** What holds it: `save 1200`, `gc`, … (for the message a waiting writer sees). */
  purpose: string;
  renewedAt: number;
  ttlMs: number;
  /** A released lease stays as a record (keeping its epoch) until the next writer retires it. */
  released?: boolean;
}

export interface LeaseOptions {
  /** Another writer holds the lease: `wait` (default) until it is free, or `refuse` with HF_BUSY. */
  ifHeld?: 'wait' | 'refuse';
  /** How long `wait` waits before HF_BUSY (default 10 minutes). */
  waitMs?: number;
  /** Time to live of the record; renewed every third of it (default 30 s). */
  ttlMs?: number;
}

export interface WriterLease {
  readonly record: LeaseRecord;
  /** The previous holder had expired or died: it was taken over, not released (worth an audit line). */
  readonly tookOver: boolean;
  /** Throws HF_BUSY (naming the new holder) when the lease was taken over since we got it. */
  assertCurrent(): Promise<void>;
  release(): Promise<void>;
}

const DEFAULT_LEASE_TTL_MS = 30_000;
const DEFAULT_WAIT_MS = 10 * 60_000;
const POLL_MS = 25;
const POLL_MAX_MS = 500;

/** Tokens of leases this process holds: a record with our pid but another token is a dead incarnation's. */
const liveTokens = new Set<string>();

export async function acquireWriterLease(backend: LeaseBackend, purpose: string, options: LeaseOptions = {}): Promise<WriterLease> {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  let pause = POLL_MS;
  for (;;) {
    const current = await backend.read();
    const holder = current === undefined ? undefined : parseLease(current);
    if (holder === undefined || isFree(holder)) {
      const mine = newRecord(purpose, ttlMs, (holder?.epoch ?? 0) + 1);
      if (await installUnlessBusy(backend, current, encodeLease(mine))) return startLease(backend, mine, holder !== undefined && !holder.released);
      if (Date.now() >= deadline) throw busy(backend, holder, 'the writer lease record is being replaced by another writer');
    } else if (options.ifHeld === 'refuse' || Date.now() >= deadline) {
      throw busy(backend, holder);
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(POLL_MAX_MS, pause * 2);
  }
}

function newRecord(purpose: string, ttlMs: number, epoch: number): LeaseRecord {
  return { host: hostname(), pid: process.pid, token: newNonce(), epoch, purpose, renewedAt: Date.now(), ttlMs };
}

/**
 * Replaces the record we saw by `next`, only if it is still the one we saw: retire it (of several
 * processes exactly one can), check it, create ours exclusively. Every change of the record goes
 * through here (acquire, takeover, renewal, release), so a writer paused between reading and
 * writing can never overwrite a record that changed meanwhile. False when another process got
 * there first (what we retired was not what we saw: it is put back).
 */
async function install(backend: LeaseBackend, seen: Uint8Array | undefined, next: Uint8Array): Promise<boolean> {
  if (seen !== undefined) {
    const retired = await backend.retire();
    if (retired === undefined) return false;
    if (!sameBytes(retired, seen)) {
      await backend.createExclusive(retired);
      return false;
    }
  }
  return backend.createExclusive(next);
}

/**
 * `install`, where a key still being deleted (on S3: a tombstone whose DELETE has not come, or whose
 * deleter was killed between its two requests) counts as a race lost for now: the caller polls.
 */
async function installUnlessBusy(backend: LeaseBackend, seen: Uint8Array | undefined, next: Uint8Array): Promise<boolean> {
  try {
    return await install(backend, seen, next);
  } catch (e) {
    if (e instanceof HoldfastError && e.code === 'HF_BUSY') return false;
    throw e;
  }
}

function startLease(backend: LeaseBackend, record: LeaseRecord, tookOver: boolean): WriterLease {
  liveTokens.add(record.token);
  let current = record;
  let lost: LeaseRecord | undefined;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async (): Promise<void> => {
    const seen = await backend.read();
    const now = seen === undefined ? undefined : parseLease(seen);
    if (now?.token !== record.token) {
      lost ??= now ?? { ...record, purpose: 'nobody (the record was removed)' };
      return;
    }
    const next = { ...current, renewedAt: Date.now() };
    if (!(await install(backend, seen, encodeLease(next)))) {
      lost ??= { ...record, purpose: 'another writer (it changed the record while we renewed it)' };
      return;
    }
    current = next;
  };
  const timer = setInterval(() => {
    renewing = renewing.then(renew).catch(() => undefined);
  }, Math.max(1, Math.floor(record.ttlMs / 3)));
  timer.unref();
  return {
    record,
    tookOver,
    assertCurrent: async () => {
      await renewing;
      const seen = await backend.read();
      const now = seen === undefined ? undefined : parseLease(seen);
      if (lost === undefined && now?.token === record.token) return;
      throw busy(backend, lost ?? now, `the writer lease of this ${record.purpose} was taken over`);
    },
    // Never throws: the work under the lease is done (a commit cannot be undone by a failed release),
    // and a record left behind names a dead or expiring owner that the next writer takes over.
    release: async () => {
      clearInterval(timer);
      try {
        await renewing;
        const seen = await backend.read();
        if (seen !== undefined && parseLease(seen)?.token === record.token) {
          await install(backend, seen, encodeLease({ ...current, released: true, renewedAt: Date.now() }));
        }
      } catch {
        // Best effort, as above.
      } finally {
        // Only now: until the record says "released", another writer in this process must see it live.
        liveTokens.delete(record.token);
      }
    },
  };
}

/** Released, expired, or its owner is provably gone. */
function isFree(holder: LeaseRecord): boolean {
  if (holder.released === true) return true;
  if (Date.now() - holder.renewedAt > holder.ttlMs) return true;
  return holder.host === hostname() && !processAlive(holder);
}

function processAlive(holder: LeaseRecord): boolean {
  if (holder.pid === process.pid) return liveTokens.has(holder.token);
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function busy(backend: LeaseBackend, holder: LeaseRecord | undefined, what = 'another writer holds the store'): HoldfastError {
  const who = holder === undefined ? 'an unknown holder' : `${holder.purpose} by pid ${holder.pid} on ${holder.host} (lease epoch ${holder.epoch}, renewed ${new Date(holder.renewedAt).toISOString()})`;
  return new HoldfastError('HF_BUSY', `${what}: ${who}; lease record ${backend.location}`, { path: backend.location, data: { holder } });
}

function encodeLease(record: LeaseRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record) + '\n');
}

/** A record that does not parse (torn by a crash mid-create) counts as expired: it names no live owner. */
export function parseLease(bytes: Uint8Array): LeaseRecord | undefined {
  try {
    const r = JSON.parse(new TextDecoder().decode(bytes)) as LeaseRecord;
    const ok = typeof r.host === 'string' && Number.isSafeInteger(r.pid) && typeof r.token === 'string' && Number.isSafeInteger(r.epoch) && typeof r.renewedAt === 'number' && typeof r.ttlMs === 'number';
    return ok ? r : undefined;
  } catch {
    return undefined;
  }
}
