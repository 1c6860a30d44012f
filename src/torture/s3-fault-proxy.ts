/**
 * A fault-injecting HTTP proxy on 127.0.0.1 between an S3 client and a real
 * server: point the SDK's endpoint (`AWS_ENDPOINT_URL`, or the client's
 * `endpoint`) at `proxy.endpoint` and every request passes through here,
 * where `decide` picks what happens to it:
 *
 *   pass           forwarded untouched
 *   delay          held for `delayMs`, then forwarded
 *   error-500      answered 500 InternalError without reaching the server
 *   error-503      answered 503 ServiceUnavailable
 *   slowdown       answered 503 SlowDown (S3's throttling)
 *   drop           the connection dies mid-body: a request with a body is cut after part of it
 *                  (the server sees a truncated upload), one without is cut mid-response
 *   flip-byte      one byte of the request body is flipped on its way to the server, after the
 *                  client computed its Content-MD5
 *   lost-response  forwarded whole, the server's answer read, then the client's connection killed
 *                  (a PUT that succeeded and was never acknowledged)
 *
 * Requests are forwarded with their headers as signed (Host included: SigV4 signs the Host the
 * client sent, and the server checks against what it receives). Plain node:http, no SDK.
 */
import { createServer, request, Agent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { SeededRandom } from '../fs/seeded-random.js';

export const WIRE_FAULTS = ['pass', 'delay', 'error-500', 'error-503', 'slowdown', 'drop', 'flip-byte', 'lost-response'] as const;
export type WireFault = (typeof WIRE_FAULTS)[number];

export interface ProxiedRequest {
  /** 0-based, in arrival order. */
  index: number;
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  /** The request body's Content-Length (0 when absent). */
  bodyBytes: number;
}

export interface FaultDecision {
  fault: WireFault;
  /** delay: how long to hold the request. */
  delayMs?: number;
  /** drop and flip-byte: where in the body, as a fraction of its length [0, 1). */
  at?: number;
}

export interface ProxyEvent extends ProxiedRequest {
  fault: WireFault;
  /** The server's status, when the request reached it and it answered. */
  upstreamStatus?: number;
}

export interface FaultProxyOptions {
  /** The real server, e.g. `http://127.0.0.1:7480`. */
  upstream: string;
  decide: (request: ProxiedRequest) => FaultDecision;
}

const ERROR_ANSWERS = {
  'error-500': { status: 500, code: 'InternalError' },
  'error-503': { status: 503, code: 'ServiceUnavailable' },
  slowdown: { status: 503, code: 'SlowDown' },
} as const;

export class S3FaultProxy {
  /** Every request seen, with the fault it got (and the server's status when it answered). */
  readonly events: ProxyEvent[] = [];
  private readonly agent = new Agent({ keepAlive: true });

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    private readonly upstream: URL,
    private readonly decide: FaultProxyOptions['decide'],
  ) {}

  static async start(options: FaultProxyOptions): Promise<S3FaultProxy> {
    const server = createServer();
    const proxy = new S3FaultProxy(server, new URL(options.upstream), options.decide);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** `http://127.0.0.1:<port>`: the endpoint to give the S3 client. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** How many requests got each fault. */
  counts(): Partial<Record<WireFault, number>> {
    const counts: Partial<Record<WireFault, number>> = {};
    for (const e of this.events) counts[e.fault] = (counts[e.fault] ?? 0) + 1;
    return counts;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const bodyBytes = Number(req.headers['content-length'] ?? 0) || 0;
    const seen: ProxiedRequest = { index: this.events.length, method: req.method ?? 'GET', path: req.url ?? '/', bodyBytes };
    const decision = this.decide(seen);
    const event: ProxyEvent = { ...seen, fault: decision.fault };
    this.events.push(event);
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    switch (decision.fault) {
      case 'error-500':
      case 'error-503':
      case 'slowdown':
        return answerError(req, res, ERROR_ANSWERS[decision.fault]);
      case 'delay':
        setTimeout(() => this.forward(req, res, event, decision), decision.delayMs ?? 0);
        return;
      default:
        this.forward(req, res, event, decision);
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse, event: ProxyEvent, decision: FaultDecision): void {
    const headers: OutgoingHttpHeaders = { ...req.headers };
    // Unsigned hop-by-hop headers: the proxy answers 100-continue itself.
    delete headers.expect;
    delete headers.connection;
    const cutRequestAt = decision.fault === 'drop' && event.bodyBytes > 0 ? Math.floor((decision.at ?? 0.5) * event.bodyBytes) : undefined;
    const up = request({ host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers, agent: this.agent }, (upRes) => {
      event.upstreamStatus = upRes.statusCode;
      upRes.on('error', () => res.destroy());
      if (decision.fault === 'lost-response') {
        // The server did it; the client never hears so.
        upRes.resume();
        upRes.on('end', () => res.destroy());
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (decision.fault === 'drop' && cutRequestAt === undefined) return cutResponse(upRes, res, decision.at ?? 0.5);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    if (cutRequestAt !== undefined) {
      cutRequest(req, up, res, cutRequestAt);
      return;
    }
    const body = decision.fault === 'flip-byte' && event.bodyBytes > 0 ? flipOneByte(Math.floor((decision.at ?? 0.5) * event.bodyBytes)) : undefined;
    if (body === undefined) req.pipe(up);
    else req.pipe(body).pipe(up);
  }
}

function answerError(req: IncomingMessage, res: ServerResponse, answer: { status: number; code: string }): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${answer.code}</Code><Message>injected by the fault proxy</Message></Error>`;
  req.resume();
  req.on('end', () => {
    res.writeHead(answer.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  });
}

/** Forwards the first `at` bytes of the request body, then kills both connections. */
function cutRequest(req: IncomingMessage, up: ReturnType<typeof request>, res: ServerResponse, at: number): void {
  let sent = 0;
  req.on('data', (chunk: Buffer) => {
    if (sent >= at) return;
    const n = Math.min(chunk.byteLength, at - sent);
    up.write(chunk.subarray(0, n));
    sent += n;
    if (sent >= at) {
      up.destroy();
      res.destroy();
    }
  });
  if (at === 0) {
    up.destroy();
    res.destroy();
  }
}

/** Passes part of the response body (none of a HEAD's), then kills the client's connection. */
function cutResponse(upRes: IncomingMessage, res: ServerResponse, at: number): void {
  const keep = Math.floor(at * (Number(upRes.headers['content-length'] ?? 0) || 0));
  let sent = 0;
  res.flushHeaders();
  upRes.on('data', (chunk: Buffer) => {
    const n = Math.min(chunk.byteLength, keep - sent);
    if (n > 0 && !res.destroyed) res.write(chunk.subarray(0, n));
    sent += n;
    if (sent >= keep) res.destroy();
  });
  // Never a complete answer: a connection left open here would stall the client's next request on it.
  upRes.on('end', () => res.destroy());
}

/** A pass-through stream that XORs the byte at `offset` with 0x01. */
function flipOneByte(offset: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (offset >= seen && offset < seen + chunk.byteLength) {
        chunk = Buffer.from(chunk);
        chunk[offset - seen]! ^= 0x01;
      }
      seen += chunk.byteLength;
      done(null, chunk);
    },
  });
}

/**
 * A seeded fault plan: each request independently gets `fault` with probability `rate` (else
 * passes), drawn from (seed, request index), so a run replays for the same request order.
 * flip-byte hits PUT bodies only (what carries Content-MD5; a CompleteMultipartUpload's XML has
 * no such header), lost-response PUTs only.
 */
export function seededFaults(seed: number, fault: WireFault, rate: number, maxDelayMs = 200): (r: ProxiedRequest) => FaultDecision {
  return (r) => {
    const rng = new SeededRandom(seed, 0x77697265 /* 'wire' */, r.index);
    if (!rng.nextBool(rate)) return { fault: 'pass' };
    // Only PUT bodies (objects, parts) carry Content-MD5; lost-response is a PUT's by definition.
    if ((fault === 'flip-byte' || fault === 'lost-response') && r.method !== 'PUT') return { fault: 'pass' };
    if (fault === 'flip-byte' && r.bodyBytes === 0) return { fault: 'pass' };
    return { fault, delayMs: rng.nextInt(maxDelayMs + 1), at: rng.nextFloat() };
  };
}
