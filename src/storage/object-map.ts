/**
 * A flat key → bytes map with exactly the operations an S3 bucket offers
 * (PUT, conditional PUT with `If-None-Match: *`, GET whole or ranged, HEAD,
 * DELETE, conditional DELETE, LIST by prefix), and nothing else: no rename,
 * no append, no directories. One `ObjectMap` shared by several
 * `MemoryObjectStorage` instances stands for one bucket seen by several
 * processes.
 *
 * Every object carries a `lastModified` time (for gc's grace period) and a
 * `version` that changes on every PUT: the twin's ETag. A conditional DELETE
 * compares it, as S3's `If-Match` on an ETag would.
 *
 * `MemoryObjectClient` is one process's view: it numbers every call, lets a test
 * fail any of them (before or after it took effect: a lost response), or
 * "crash" (that call and every later one fail), and yields to the event
 * loop once per call so concurrent writers interleave as over a network.
 */
import { HoldfastError } from '../errors.js';
import type { ObjectClient, ObjectInfo, ObjectUpload, UploadParts } from './object-client.js';

interface StoredObject {
  bytes: Uint8Array;
  lastModified: number;
  version: number;
}

export class ObjectMap {
  private readonly objects = new Map<string, StoredObject>();
  private nextVersion = 1;

  /** `now` is the bucket's clock (tests move it to age objects past a grace period). */
  constructor(readonly now: () => number = Date.now) {}

  /** Stores a copy of `bytes`; with `ifNoneMatch`, only when the key is absent (false otherwise). */
  put(key: string, bytes: Uint8Array, ifNoneMatch = false): boolean {
    if (ifNoneMatch && this.objects.has(key)) return false;
    this.objects.set(key, { bytes: bytes.slice(), lastModified: this.now(), version: this.nextVersion++ });
    return true;
  }

  /** A copy of the object's bytes and its metadata, or undefined. */
  get(key: string): { bytes: Uint8Array; info: ObjectInfo } | undefined {
    const o = this.objects.get(key);
    return o === undefined ? undefined : { bytes: o.bytes.slice(), info: infoOf(key, o) };
  }

  head(key: string): ObjectInfo | undefined {
    const o = this.objects.get(key);
    return o === undefined ? undefined : infoOf(key, o);
  }

  /** Removes the key; with `ifVersion`, only when it still holds that version (false otherwise, or when absent). */
  delete(key: string, ifVersion?: string): boolean {
    const o = this.objects.get(key);
    if (o === undefined) return false;
    if (ifVersion !== undefined && String(o.version) !== ifVersion) return false;
    return this.objects.delete(key);
  }

  /** Keys starting with `prefix`, in lexicographic (byte) order, as ListObjectsV2 returns them. */
  list(prefix: string): ObjectInfo[] {
    const found: ObjectInfo[] = [];
    for (const [key, o] of this.objects) if (key.startsWith(prefix)) found.push(infoOf(key, o));
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Test hook: changes an object's bytes in place (bit rot), keeping its version and time. */
  tamper(key: string, edit: (bytes: Uint8Array) => Uint8Array): void {
    const o = this.objects.get(key);
    if (o === undefined) throw new HoldfastError('HF_NOT_FOUND', `no object ${key} to tamper with`, { path: key });
    o.bytes = edit(o.bytes.slice());
  }

  /** Every key, sorted (for test failures and state comparisons). */
  keys(): string[] {
    return this.list('').map((o) => o.key);
  }
}

function infoOf(key: string, o: StoredObject): ObjectInfo {
  return { key, sizeBytes: o.bytes.byteLength, lastModified: o.lastModified, version: String(o.version) };
}

export type ObjectOp = 'put' | 'putIfAbsent' | 'get' | 'getRange' | 'head' | 'delete' | 'deleteIfMatch' | 'list';

export interface ObjectCall {
  /** 0-based, counted per client from its creation. */
  index: number;
  op: ObjectOp;
  key: string;
}

export interface InjectedObjectFault {
  error: Error;
  /** The call took effect and only its response was lost (a PUT that landed, then a timeout). */
  applied?: boolean;
  /** The process died: this call and every later one fail. */
  crash?: boolean;
}

export interface ObjectFaults {
  /** Called before every call; an Error (or a fault) makes that call fail. */
  failAt?: (call: ObjectCall) => Error | InjectedObjectFault | undefined;
}

/** One process's connection to the bucket, with its call log and fault hooks. */
export class MemoryObjectClient implements ObjectClient {
  readonly calls: ObjectCall[] = [];
  private crashed: Error | undefined;

  constructor(
    readonly map: ObjectMap,
    private readonly faults: ObjectFaults = {},
  ) {}

  now(): number {
    return this.map.now();
  }

  put(key: string, bytes: Uint8Array): Promise<void> {
    return this.call('put', key, () => void this.map.put(key, bytes));
  }

  /** PUT with `If-None-Match: *`: false is the 412 Precondition Failed of an existing key. */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    return this.call('putIfAbsent', key, () => this.map.put(key, bytes, true));
  }

  get(key: string): Promise<{ bytes: Uint8Array; info: ObjectInfo } | undefined> {
    return this.call('get', key, () => this.map.get(key));
  }

  /** GET with `Range: bytes=offset-(offset+length-1)`; fewer bytes at the end of the object, undefined when absent. */
  getRange(key: string, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array | undefined> {
    return this.call('getRange', key, () => {
      const got = this.map.get(key)?.bytes.subarray(offset, offset + length);
      if (got === undefined || into === undefined) return got;
      into.set(got);
      return into.subarray(0, got.byteLength);
    });
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.call('head', key, () => this.map.head(key));
  }

  delete(key: string): Promise<void> {
    return this.call('delete', key, () => void this.map.delete(key));
  }

  /** DELETE with `If-Match: <etag>`: false when the key is gone or holds another version. */
  deleteIfMatch(key: string, version: string): Promise<boolean> {
    return this.call('deleteIfMatch', key, () => this.map.delete(key, version));
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.call('list', prefix, () => this.map.list(prefix));
  }

  /** Buffered whole and one PUT at close (one call in the log): the object appears complete or not at all. Parts mean nothing here. */
  upload(key: string, _parts: UploadParts): ObjectUpload {
    const chunks: Uint8Array[] = [];
    return {
      write: (chunk) => {
        chunks.push(chunk.slice());
        return Promise.resolve();
      },
      close: () => this.put(key, Buffer.concat(chunks)),
      abort: () => {
        chunks.length = 0;
        return Promise.resolve();
      },
    };
  }

  private async call<T>(op: ObjectOp, key: string, apply: () => T): Promise<T> {
    const index = this.calls.length;
    this.calls.push({ index, op, key });
    // A network round trip: other "processes" run in between.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.crashed !== undefined) throw this.crashed;
    const got = this.faults.failAt?.({ index, op, key });
    if (got === undefined) return apply();
    const fault: InjectedObjectFault = got instanceof Error ? { error: got } : got;
    if (fault.applied === true) apply();
    if (fault.crash === true) this.crashed = new HoldfastError('HF_IO', `object storage client crashed at call ${index} (${op} ${key}); no later call reaches the bucket`, { path: key, data: { injected: true } });
    throw fault.error;
  }
}
