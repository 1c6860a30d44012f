/**
 * Options shared by the write path (`writeFileParts`) and the read path
 * (`readFileHashed`): which I/O method, which buffers, where hashing runs,
 * how much is in flight.
 */
import type { AlignedBufferPool } from './aligned-memory.js';
import type { IoRuntime } from './io-runtime.js';
import type { RecordCipherSpec } from './record-cipher-stream.js';

export type IoMethod = 'direct' | 'buffered';
export type IoMethodChoice = IoMethod | 'auto';

/** With `auto`, files smaller than this use buffered I/O: O_DIRECT gains nothing there. */
export const DEFAULT_DIRECT_MIN_BYTES = 1024 * 1024;
/** Chunks in flight per file. */
export const DEFAULT_DEPTH = 4;

export interface FileIoOptions {
  /** Default `auto`: O_DIRECT for files of at least `directMinBytes` where accepted. `direct` still falls back when refused. */
  ioMethod?: IoMethodChoice;
  directMinBytes?: number;
  /** Hashing workers, buffers and the O_DIRECT refusal cache. */
  runtime: IoRuntime;
  /** Buffers to use instead of the runtime's (tests use small ones to force many chunks). */
  pool?: AlignedBufferPool;
  /** Chunks in flight per file, default `DEFAULT_DEPTH`. */
  depth?: number;
  /** Called as chunks are done. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** What a checkpoint writer's `writeFile` takes. */
export interface FileWriteOptions extends FileIoOptions {
  /**
   * Store the parts (the plaintext) as sealed records (`record-cipher-stream.ts`, op `seal`): sealed
   * on the file's hashing worker in the same pass as its hash. A writer that cannot seal must throw,
   * never write plaintext; one that did says so in `WrittenFile.sealed`.
   */
  seal?: RecordCipherSpec | undefined;
}
