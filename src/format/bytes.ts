/** Byte comparisons the storage layer makes on what it reads back (manifests, lease records). */

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Whether `prefix` is the start of `of` (a write that stopped short of `of` leaves one). */
export function isPrefixOf(prefix: Uint8Array, of: Uint8Array): boolean {
  return prefix.byteLength <= of.byteLength && sameBytes(prefix, of.subarray(0, prefix.byteLength));
}
