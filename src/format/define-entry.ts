/**
 * Adds `name` as an own, enumerable property. Plain assignment would treat a
 * tensor called `__proto__` as the prototype setter and silently drop it.
 */
export function defineEntry<T>(record: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}
