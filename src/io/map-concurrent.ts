/**
 * Runs `fn` over `items` with at most `limit` calls in flight, results in
 * input order. With `stopWhen`, no new item starts once a result satisfies
 * it (items already running finish). On an error no new item starts, and
 * the first error is thrown only after every running call has settled, so a
 * caller's cleanup never races a call still writing. Two in flight is what a 2-core machine
 * wants for file work: one file's SHA-256 is sequential and occupies one
 * hashing worker, so a second file keeps the other core busy.
 *
 * With `sizeOf`, items start largest first (stable among equals; results
 * stay in input order): the longest-processing-time rule, so the lanes
 * finish together instead of one lane hashing a large file alone at the end
 * while the other core idles. gpt2-small's shards (147, 147, 251, 255, 255,
 * 252, 255, 99 MiB) leave one lane alone for 155 MiB in file order and for
 * 53 MiB largest first. With `first`, the items it picks start before all
 * others (each set still largest first): what must finish early goes first.
 */
interface MapConcurrentOptions<T, R> {
  stopWhen?: (result: R) => boolean;
  /** Work estimate of an item (e.g. bytes): larger items start first. */
  sizeOf?: (item: T) => number;
  /** Items that start before all others. */
  first?: (item: T) => boolean;
}

export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: MapConcurrentOptions<T, R> = {},
): Promise<R[]> {
  const { stopWhen, sizeOf, first } = options;
  const results: R[] = new Array<R>(items.length);
  const order = items.map((_, i) => i);
  const sizes = sizeOf === undefined ? undefined : items.map(sizeOf);
  const early = first === undefined ? undefined : items.map(first);
  order.sort((a, b) => Number(early?.[b] ?? 0) - Number(early?.[a] ?? 0) || (sizes === undefined ? 0 : sizes[b]! - sizes[a]!) || a - b);
  let next = 0;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!stopped && next < order.length) {
      const i = order[next++]!;
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
