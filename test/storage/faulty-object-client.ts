/**
 * Fault injection for any `ObjectClient` (the S3 one included): numbers every call, and fails the
 * one a test picks, before it reaches the bucket or after it took effect (a lost response), or
 * "crashes" there (that call and every later one fail). The requests that do go out are real: over
 * S3 the server sees exactly what a process dying at that call would have sent.
 */
import { HoldfastError } from '../../src/errors.js';
import type { ObjectClient, ObjectInfo, ObjectUpload, UploadParts } from '../../src/storage/object-client.js';
import type { InjectedObjectFault } from '../../src/storage/object-map.js';

const injected = (what: string) => new HoldfastError('HF_IO', `injected: ${what}`, { data: { injected: true } });

/** The fault classes of the conformance crash campaign, by name. */
export const OBJECT_FAULTS: Record<string, (index: number) => InjectedObjectFault> = {
  'crash': (i) => ({ error: injected(`crash at ${i}`), crash: true }),
  'crash-after-applying': (i) => ({ error: injected(`crash after ${i} took effect`), crash: true, applied: true }),
  'fail-once': (i) => ({ error: injected(`failure of ${i}`) }),
  'lost-response': (i) => ({ error: injected(`lost response of ${i}`), applied: true }),
};

export class FaultyObjectClient implements ObjectClient {
  /** Calls made so far (the next call's index). */
  calls = 0;
  private crashed: Error | undefined;

  constructor(
    private readonly inner: ObjectClient,
    private readonly failAt: (index: number) => InjectedObjectFault | undefined,
  ) {}

  now(): number {
    return this.inner.now();
  }
  put(key: string, bytes: Uint8Array): Promise<void> {
    return this.call(() => this.inner.put(key, bytes));
  }
  putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    return this.call(() => this.inner.putIfAbsent(key, bytes));
  }
  get(key: string): Promise<{ bytes: Uint8Array; info: ObjectInfo } | undefined> {
    return this.call(() => this.inner.get(key));
  }
  getRange(key: string, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array | undefined> {
    return this.call(() => this.inner.getRange(key, offset, length, into));
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.call(() => this.inner.head(key));
  }
  delete(key: string): Promise<void> {
    return this.call(() => this.inner.delete(key));
  }
  deleteIfMatch(key: string, version: string): Promise<boolean> {
    return this.call(() => this.inner.deleteIfMatch(key, version));
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.call(() => this.inner.list(prefix));
  }
  /** The upload counts as one call, at close: that is when the object appears. */
  upload(key: string, parts: UploadParts): ObjectUpload {
    const up = this.inner.upload(key, parts);
    return { write: (chunk) => up.write(chunk), close: () => this.call(() => up.close()), abort: () => up.abort() };
  }

  private async call<T>(apply: () => Promise<T>): Promise<T> {
    const index = this.calls++;
    if (this.crashed !== undefined) throw this.crashed;
    const fault = this.failAt(index);
    if (fault === undefined) return apply();
    if (fault.applied === true) await apply();
    if (fault.crash === true) this.crashed = fault.error;
    throw fault.error;
  }
}
