/**
 * Runs `fn` over `items` with at most `limit` calls in flight, results in
 * input order. With `stopWhen`, no new item starts once a result satisfies
 * it (items already running finish). On an error no new item starts, and
 * the first error is thrown only after every running call has settled, so a
 * caller's cleanup never races a call still writing. Two in flight is what a 2-core machine
 * wants for file work: one file's SHA-256 is sequential and occupies one
 * hashing worker, so a second file keeps the other core busy.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  stopWhen?: (result: R) => boolean,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!stopped && next < items.length) {
      const i = next++;
      try {
        const r = await fn(items[i]!, i);
        results[i] = r;
        if (stopWhen?.(r)) stopped = true;
      } catch (error) {
        failure ??= { error };
        stopped = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== undefined) throw failure.error;
  return results;
}
