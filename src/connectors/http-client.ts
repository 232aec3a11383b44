import { Agent, type Dispatcher } from 'undici';
import { BlockedAddressError, type Refusal, guardedLookup, literalHostRefusal, refusalMessage } from '../security/network-guard.js';

/** Bytes of a response body kept by default (HERALD_RESPONSE_BODY_BYTES); the rest is not read. */
export const RESPONSE_BODY_LIMIT = 8 * 1024;
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export interface HttpResult {
  status: number;
  body: string;
  retryAfterMs?: number;
}

export class HttpFailure extends Error {
  constructor(
    message: string,
    readonly blocked = false,
    /** A refused non-public address: what the operator's log gets (the message does not say it). */
    readonly refusal?: Refusal,
  ) {
    super(message);
  }
}

/** Where a URL goes, parsed once per URL rather than once per request. */
interface Target {
  origin: string;
  path: string;
}

class Timeout extends Error {
  override readonly name = 'TimeoutError';
}

/** The end of a response body we read no further than its limit. */
class BodyLimit extends Error {}

/**
 * Outbound HTTP for every connector: one undici Agent (a keep-alive pool per origin),
 * redirects never followed, the network guard inside DNS resolution. Requests go through
 * `dispatch()` with a handler that keeps only what the attempt log needs: measured on a
 * 2-core machine against 100 local origins, `request()` (with an AbortSignal and the body
 * as a stream) cost ~200 µs of CPU per request and this ~80 µs.
 */
export class HttpClient {
  readonly #agent: Agent;
  readonly #allowPrivate: boolean;
  readonly #targets = new Map<string, Target | HttpFailure>();
  readonly #bodyLimit: number;
  #destroyed: Promise<void> | undefined;

  readonly #onBlocked: ((refusal: Refusal) => void) | undefined;

  constructor(options: {
    allowPrivateNetworks: boolean;
    connectionsPerOrigin?: number;
    responseBodyBytes?: number;
    /** Hears every refused non-public address, with the address (the client's error has only the host). */
    onBlocked?: (refusal: Refusal) => void;
  }) {
    this.#allowPrivate = options.allowPrivateNetworks;
    this.#onBlocked = options.onBlocked;
    this.#bodyLimit = options.responseBodyBytes ?? RESPONSE_BODY_LIMIT;
    this.#agent = new Agent({
      connections: options.connectionsPerOrigin ?? 64,
      keepAliveTimeout: 30_000,
      connect: this.#allowPrivate ? {} : { lookup: guardedLookup as never },
    });
  }

  send(
    method: 'POST' | 'GET',
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<HttpResult> {
    const target = this.#target(url);
    if (target instanceof HttpFailure) {
      if (target.refusal) this.#onBlocked?.(target.refusal);
      return Promise.reject(target);
    }
    return new Promise<HttpResult>((resolve, reject) => {
      const collector = new ResponseCollector(timeoutMs, this.#bodyLimit, resolve, reject, this.#onBlocked);
      this.#agent.dispatch(
        {
          origin: target.origin,
          path: target.path,
          method,
          headers,
          body: body ?? null,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        collector,
      );
    });
  }

  #target(url: string): Target | HttpFailure {
    let target = this.#targets.get(url);
    if (target) return target;
    try {
      const parsed = new URL(url);
      const refusal = this.#allowPrivate ? undefined : literalHostRefusal(parsed.hostname);
      target = refusal
        ? new HttpFailure(refusalMessage(refusal.host), true, refusal)
        : { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    } catch {
      target = new HttpFailure(`invalid URL ${url}`);
    }
    if (this.#targets.size >= 10_000) this.#targets.clear();
    this.#targets.set(url, target);
    return target;
  }

  /** Aborts whatever is still in flight (after the shutdown grace period). */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#agent.destroy();
    return this.#destroyed;
  }
}

/**
 * One response: its status, Retry-After, and at most `bodyLimit` bytes of body (a prefix cut
 * at a character boundary; the connection is then dropped rather than read to the end).
 * The whole attempt (connecting, sending, waiting, reading) is bounded by one timer.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #retryAfterMs: number | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #settled = false;
  /** The timer fired before the request had a socket: abort it as soon as it starts. */
  #pendingAbort: Error | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly timeoutMs: number,
    private readonly bodyLimit: number,
    private readonly resolve: (result: HttpResult) => void,
    private readonly reject: (error: HttpFailure) => void,
    private readonly onBlocked?: (refusal: Refusal) => void,
  ) {
    // The abort waits one turn of the event loop: after a stall (a long GC, a SIGSTOP) the
    // timer and an answer that did arrive in time are due together, and timers run before
    // I/O is read — without the turn, a request answered 200 would be recorded as timed out.
    this.#timer = setTimeout(() => {
      setImmediate(() => {
        if (!this.#settled) this.#abort(new Timeout());
      });
    }, timeoutMs);
  }

  #abort(reason: Error): void {
    // Still waiting for a socket: the abort happens as soon as the request starts.
    if (this.#controller) this.#controller.abort(reason);
    else this.#pendingAbort = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort) controller.abort(this.#pendingAbort);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode;
    if (statusCode === 429 || statusCode === 503) this.#retryAfterMs = parseRetryAfter(headers['retry-after']);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#size >= this.bodyLimit) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size >= this.bodyLimit) controller.abort(new BodyLimit());
  }

  onResponseEnd(): void {
    this.#finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (error instanceof BodyLimit) this.#finish();
    else this.#fail(describeError(error, this.timeoutMs));
  }

  #finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    const bytes = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const body = utf8Prefix(bytes, this.bodyLimit);
    const result: HttpResult = { status: this.#status, body };
    if (this.#retryAfterMs !== undefined) result.retryAfterMs = this.#retryAfterMs;
    this.resolve(result);
  }

  #fail(error: HttpFailure): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    if (error.refusal) this.onBlocked?.(error.refusal);
    this.reject(error);
  }
}

/** At most `limit` bytes of UTF-8 text, never ending in a cut character. */
export function utf8Prefix(bytes: Buffer, limit: number): string {
  if (bytes.length <= limit) return bytes.toString('utf8');
  let end = limit;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that was cut.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  let ms: number;
  if (/^\d+$/.test(text.trim())) ms = Number(text.trim()) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - Date.now();
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

function describeError(error: unknown, timeoutMs: number): HttpFailure {
  if (error instanceof HttpFailure) return error;
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown };
  const cause = e.cause as { code?: string; message?: string } | undefined;
  if (error instanceof BlockedAddressError || cause instanceof BlockedAddressError) {
    const blocked = cause instanceof BlockedAddressError ? cause : (error as BlockedAddressError);
    return new HttpFailure(blocked.message, true, blocked.refusal);
  }
  const code = e.code ?? cause?.code;
  if (
    e.name === 'TimeoutError' ||
    e.name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return new HttpFailure(`timed out after ${timeoutMs} ms`);
  }
  if (code === 'ECONNREFUSED') return new HttpFailure(`connection refused (${e.message ?? code})`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new HttpFailure(`DNS lookup failed (${e.message ?? code})`);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return new HttpFailure('connection reset by the endpoint');
  return new HttpFailure(`${code ? `${code}: ` : ''}${e.message ?? String(error)}`);
}
