/**
 * Limits of the machine below the disk's, measured on lower layers on
 * purpose: SHA-256 on every hashing worker with no I/O, and reading the
 * checkpoint's files into (or merely touching) freshly allocated memory,
 * which every restore pays and fio's read into one reused buffer never does.
 */
import { tensorBytes } from '../format/dtype.js';
import { allocAligned } from '../io/aligned-memory.js';
import { DEFAULT_CHUNK_BYTES } from '../format/manifest-types.js';
import type { RecordCipherSpec } from '../io/record-cipher-stream.js';
import { hashOnly } from './baselines.js';
import { sample } from './sampling.js';
import type { WorkloadRun } from './workload-run.js';

/**
 * The CPU limit of full verification: SHA-256 of the same byte count on every
 * hashing worker at once, from memory that is already touched (up to 256 MiB
 * of the state, hashed round and round). With `cipher`, the limit of an
 * encrypted save (`seal`) or restore (`open`): the same pass with every
 * record sealed or opened on the hashing workers (the bytes are not real
 * records, so opened ones fail their tags: the same work).
 */
export async function hashLimit(run: WorkloadRun, cipher?: 'seal' | 'open'): Promise<{ seconds: number[]; workers: number }> {
  const hashers = run.io.hashers;
  const bytes = run.workload.bytes;
  const workers = Math.max(1, hashers.size);
  // With a cipher, each stream also seals or opens its bytes as records, as an encrypted save or restore does.
  const spec = (streamBytes: number): RecordCipherSpec | undefined =>
    cipher === undefined ? undefined : { op: cipher, key: new Uint8Array(32).fill(1), path: 'limit', noncePrefix: '0000000000000000', plainSize: streamBytes, chunkBytes: DEFAULT_CHUNK_BYTES };
  const hashMemory = allocAligned(Math.min(bytes, 256 * 1024 * 1024));
  let off = 0;
  for (const t of Object.values(run.tensors)) {
    if (off >= hashMemory.byteLength) break;
    const b = tensorBytes(t).subarray(0, hashMemory.byteLength - off);
    hashMemory.set(b, off);
    off += b.byteLength;
  }
  const seconds: number[] = [];
  for (let i = 0; i < Math.min(run.repeat, 3); i++) await sample(seconds, () => hashOnly(hashers, hashMemory, bytes, workers, spec));
  return { seconds, workers };
}

