/**
 * The body of one hashing worker thread (loaded by `HashWorkerPool` from
 * `dist/src/io/hash-worker.js`). Contract: it owns any number of streams by
 * id, each a `FilePass`: the SHA-256 of each chunk when opened with
 * `chunkBytes`, the whole-file SHA-256 unless opened with `wholeFile: false`,
 * and, opened with a `cipher`, the file's records sealed or opened in place.
 * `update` works on a range of a SharedArrayBuffer in place (no copy: the main
 * thread keeps the memory alive and untouched until the reply) or on a
 * transferred buffer it gives back; `digest` ends a stream. Messages of one
 * stream are handled in the order they were posted, which is what makes a
 * file's hash equal to a one-pass hash of its bytes (and its records follow
 * each other). Every request gets exactly one reply with its `seq`.
 */
import { parentPort } from 'node:worker_threads';
import { FilePass, type PassDigest } from './file-pass.js';
import type { RecordCipherSpec } from './record-cipher-stream.js';

export type HashRequest =
  | { op: 'open'; seq: number; stream: number; chunkBytes?: number; wholeFile?: false; cipher?: RecordCipherSpec }
  | { op: 'update'; seq: number; stream: number; buffer: SharedArrayBuffer | ArrayBuffer; byteOffset: number; byteLength: number }
  | { op: 'digest'; seq: number; stream: number }
  | { op: 'abort'; seq: number; stream: number };

/** `seq` 0 is the worker's first message, sent once its module has loaded: it has started. */
/**
 * `output`: after an update, how many bytes at the start of the range are output (see `FilePass`);
 * `returned`: the range's buffer, given back when it was transferred rather than shared.
 */
export type HashReply = { seq: number; ok: true; digest?: PassDigest; output?: number; returned?: ArrayBuffer } | { seq: number; ok: false; message: string };

const streams = new Map<number, FilePass>();

function handle(req: HashRequest): HashReply {
  switch (req.op) {
    case 'open':
      streams.set(req.stream, new FilePass(req.chunkBytes, req.wholeFile ?? true, req.cipher));
      return { seq: req.seq, ok: true };
    case 'update': {
      const h = streams.get(req.stream);
      if (h === undefined) return { seq: req.seq, ok: false, message: `hash stream ${req.stream} is not open` };
      const output = h.update(new Uint8Array(req.buffer, req.byteOffset, req.byteLength));
      return req.buffer instanceof SharedArrayBuffer ? { seq: req.seq, ok: true, output } : { seq: req.seq, ok: true, output, returned: req.buffer };
    }
    case 'digest': {
      const h = streams.get(req.stream);
      if (h === undefined) return { seq: req.seq, ok: false, message: `hash stream ${req.stream} is not open` };
      streams.delete(req.stream);
      return { seq: req.seq, ok: true, digest: h.digest() };
    }
    case 'abort':
      streams.delete(req.stream);
      return { seq: req.seq, ok: true };
  }
}

parentPort?.on('message', (req: HashRequest) => {
  let reply: HashReply;
  try {
    reply = handle(req);
  } catch (e) {
    reply = { seq: req.seq, ok: false, message: (e as Error)?.message ?? String(e) };
  }
  parentPort!.postMessage(reply, reply.ok && reply.returned !== undefined ? [reply.returned] : []);
});
parentPort?.postMessage({ seq: 0, ok: true } satisfies HashReply);
