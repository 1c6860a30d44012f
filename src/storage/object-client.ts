/**
 * One process's connection to an object-store bucket: exactly the operations
 * S3 offers (PUT, conditional PUT with `If-None-Match: *`, GET whole or
 * ranged, HEAD, DELETE, conditional DELETE on an ETag, LIST by prefix, and an
 * upload that appears whole or not at all), and nothing else: no rename, no
 * append, no directories. `ObjectStorage` lays checkpoints out over it; the
 * in-memory twin (`MemoryObjectClient`) and S3 (`S3ObjectClient`) implement it.
 *
 * Keys are full bucket keys. Errors other than the outcomes named here
 * (absent, precondition failed) are thrown as `HoldfastError`s.
 */

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
  /** Milliseconds since the epoch, by the bucket's clock (for gc's grace period). */
  lastModified: number;
  /** Changes on every PUT of the key: the ETag, as the conditional delete wants it. */
  version: string;
}

/**
 * How a data object is cut into parts: `partBytes` each (the last one shorter), each part's SHA-256
 * known to the caller by the time the part's last byte is written, or, for the last part, by `close`
 * (the manifest's chunk digests: the part size is the chunk size). S3 sends it as the part's checksum.
 */
export interface UploadParts {
  partBytes: number;
  /** Lowercase hex SHA-256 of part `index` (from 0). */
  partSha256(index: number): string;
}

/** A multipart upload begun and neither completed nor aborted: its parts hold space, and no reader ever sees them. */
export interface IncompleteUpload {
  key: string;
  uploadId: string;
  /** When it was begun, milliseconds since the epoch by the bucket's clock. */
  initiated: number;
}

/** A new object streamed in chunks: invisible until `close` returns, never partly visible. */
export interface ObjectUpload {
  /** The chunk may be reused by the caller once the promise settles. */
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Drops what was sent; never throws. */
  abort(): Promise<void>;
}

export interface ObjectClient {
  /** The bucket's clock (S3: `Date.now()`; the twin's tests move it). */
  now(): number;
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** PUT with `If-None-Match: *`, always single-part: false is the 412 Precondition Failed of an existing key. */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean>;
  get(key: string): Promise<{ bytes: Uint8Array; info: ObjectInfo } | undefined>;
  /**
   * GET with `Range: bytes=offset-(offset+length-1)`; fewer bytes at the end of the object, undefined when absent.
   * With `into` (at least `length` bytes) the body is drained into it and the result is a view of it.
   */
  getRange(key: string, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  delete(key: string): Promise<void>;
  /** DELETE with `If-Match: <etag>`: false when the key is gone or holds another version. */
  deleteIfMatch(key: string, version: string): Promise<boolean>;
  /** Keys starting with `prefix`, in lexicographic (byte) order, as ListObjectsV2 returns them. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** A data object streamed in chunks (S3: multipart for large ones; never used for a commit). */
  upload(key: string, parts: UploadParts): ObjectUpload;
  /** Incomplete multipart uploads of keys starting with `prefix` (absent where uploads are one PUT, as in the twin). */
  incompleteUploads?(prefix: string): Promise<IncompleteUpload[]>;
  /** Aborts one, freeing its parts; one already completed or aborted is no error. Never touches a completed object. */
  abortUpload?(key: string, uploadId: string): Promise<void>;
}
