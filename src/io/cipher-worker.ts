/**
 * The body of one cipher worker thread (loaded by `CipherPool` from
 * `dist/src/io/cipher-worker.js`): seals or opens one AES-256-GCM record per
 * request (format/chunk-cipher.ts). Records are independent, unlike a file's
 * SHA-256 stream, so any worker takes any record and they run in parallel.
 * The input arrives transferred and the output goes back transferred: no
 * shared memory, so nothing outlives the request. Every request gets exactly
 * one reply with its `seq`; `seq` 0 says the worker has loaded.
 */
import { parentPort } from 'node:worker_threads';
import { openRecord, sealRecord } from '../format/chunk-cipher.js';

export interface CipherRequest {
  seq: number;
  op: 'seal' | 'open';
  key: Uint8Array;
  nonce: Uint8Array;
  aad: Uint8Array;
  input: Uint8Array;
}

/** `output` undefined after `open`: the record did not authenticate. */
export type CipherReply = { seq: number; ok: true; output?: Uint8Array } | { seq: number; ok: false; message: string };

export function runCipherRequest(req: Omit<CipherRequest, 'seq'>): Uint8Array | undefined {
  const place = { nonce: req.nonce, aad: req.aad };
  return req.op === 'seal' ? sealRecord(req.key, place, req.input) : openRecord(req.key, place, req.input);
}

/** A fresh buffer holding exactly `bytes`, so its ArrayBuffer can be transferred whole. */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer) ? bytes : bytes.slice();
}

parentPort?.on('message', (req: CipherRequest) => {
  try {
    const out = runCipherRequest(req);
    if (out === undefined) parentPort!.postMessage({ seq: req.seq, ok: true } satisfies CipherReply);
    else {
      const output = owned(out);
      parentPort!.postMessage({ seq: req.seq, ok: true, output } satisfies CipherReply, [output.buffer as ArrayBuffer]);
    }
  } catch (e) {
    parentPort!.postMessage({ seq: req.seq, ok: false, message: (e as Error)?.message ?? String(e) } satisfies CipherReply);
  }
});
parentPort?.postMessage({ seq: 0, ok: true } satisfies CipherReply);
