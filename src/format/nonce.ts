/** A fresh random id per save attempt: names its staging dir and binds its shards to its manifest. */
import { randomBytes } from 'node:crypto';

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}
