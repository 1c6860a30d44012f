/**
 * Retries of a conditional request the server refused with 409 Conflict
 * (AWS S3: `ConditionalRequestConflict`, "a conflicting operation occurred
 * on this object, retry"): the SDK's standard strategy retries 5xx,
 * throttling and dropped connections, not 409. Bounded, with exponential
 * backoff and full jitter, so racing writers do not retry in lockstep.
 */
export interface ConflictRetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The first backoff's upper bound; doubled per retry. */
  baseMs: number;
}

export const CONFLICT_RETRY: ConflictRetryOptions = { attempts: 6, baseMs: 25 };

export function isConflict(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return err?.$metadata?.httpStatusCode === 409 || err?.name === 'ConditionalRequestConflict';
}

/** Runs `send` until it does not fail with a 409, at most `attempts` times; the last error is thrown. */
export async function retryConflicts<T>(send: () => Promise<T>, options: ConflictRetryOptions = CONFLICT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (e) {
      if (!isConflict(e) || attempt >= options.attempts) throw e;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * options.baseMs * 2 ** (attempt - 1)));
    }
  }
}
