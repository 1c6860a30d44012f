/**
 * The one error type Holdfast throws. Callers branch on `code`, never on the
 * message; the CLI maps codes to exit codes (see `exitCodeFor`).
 */
export type HoldfastErrorCode =
  | 'HF_INVALID_ARG' // the caller passed something malformed (usage error)
  | 'HF_NOT_FOUND' // a store, checkpoint or file that should exist does not
  | 'HF_STEP_EXISTS' // a committed checkpoint already holds this step
  | 'HF_CORRUPT' // bytes on disk disagree with what was recorded at save time
  | 'HF_FORMAT' // a file is not in a format (or version) this build can read
  | 'HF_INCOMPATIBLE' // a checkpoint does not fit what the caller expects
  | 'HF_NO_VALID_CHECKPOINT' // discovery found no checkpoint that passes verification
  | 'HF_IO' // the operating system refused an operation
  | 'HF_BUSY' // another save is in flight and the caller asked not to wait
  | 'HF_KEY' // an encrypted checkpoint needs a key that is missing or is not the one it was written with
  | 'HF_ABORTED'; // a save was abandoned (an earlier error, or shutdown)

interface HoldfastErrorOptions {
  /** The file or directory the error is about. */
  path?: string;
  cause?: unknown;
  /** Machine-readable details (expected/actual values, step, …). */
  data?: Record<string, unknown>;
}

export class HoldfastError extends Error {
  override readonly name = 'HoldfastError';
  readonly code: HoldfastErrorCode;
  readonly path: string | undefined;
  readonly data: Record<string, unknown>;

  constructor(code: HoldfastErrorCode, message: string, options: HoldfastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
    this.data = options.data ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, path: this.path, data: this.data };
  }
}

export function isHoldfastError(e: unknown, code?: HoldfastErrorCode): e is HoldfastError {
  return e instanceof HoldfastError && (code === undefined || e.code === code);
}

/** Exit codes of the CLI contract: 0 ok, 1 failure, 2 usage, 3 nothing valid found. */
export function exitCodeFor(e: unknown): number {
  if (!(e instanceof HoldfastError)) return 1;
  if (e.code === 'HF_INVALID_ARG') return 2;
  if (e.code === 'HF_NO_VALID_CHECKPOINT') return 3;
  return 1;
}

export function invalidArg(message: string, options?: HoldfastErrorOptions): HoldfastError {
  return new HoldfastError('HF_INVALID_ARG', message, options);
}

export function corrupt(message: string, options?: HoldfastErrorOptions): HoldfastError {
  return new HoldfastError('HF_CORRUPT', message, options);
}

export function formatError(message: string, options?: HoldfastErrorOptions): HoldfastError {
  return new HoldfastError('HF_FORMAT', message, options);
}
