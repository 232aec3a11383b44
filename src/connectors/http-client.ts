import { Agent, request } from 'undici';
import { BlockedAddressError, guardedLookup, literalHostReason } from '../security/network-guard.js';

export const RESPONSE_BODY_LIMIT = 64 * 1024;
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
  ) {
    super(message);
  }
}

/**
 * Outbound HTTP for every connector: one undici Agent (a keep-alive pool per origin),
 * redirects never followed, the network guard inside DNS resolution.
 */
export class HttpClient {
  readonly #agent: Agent;
  readonly #allowPrivate: boolean;

  constructor(options: { allowPrivateNetworks: boolean; connectionsPerOrigin?: number }) {
    this.#allowPrivate = options.allowPrivateNetworks;
    this.#agent = new Agent({
      connections: options.connectionsPerOrigin ?? 64,
      keepAliveTimeout: 30_000,
      connect: this.#allowPrivate ? {} : { lookup: guardedLookup as never },
    });
  }

  async send(
    method: 'POST' | 'GET',
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<HttpResult> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new HttpFailure(`invalid URL ${url}`);
    }
    if (!this.#allowPrivate) {
      const reason = literalHostReason(parsed.hostname);
      if (reason) throw new HttpFailure(`blocked: ${reason}`, true);
    }
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await request(parsed, {
        dispatcher: this.#agent,
        method,
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal,
      });
      const text = await readLimited(res.body);
      const result: HttpResult = { status: res.statusCode, body: text };
      if (res.statusCode === 429 || res.statusCode === 503) {
        const retryAfter = parseRetryAfter(res.headers['retry-after']);
        if (retryAfter !== undefined) result.retryAfterMs = retryAfter;
      }
      return result;
    } catch (error) {
      throw describeError(error, timeoutMs);
    }
  }

  /** Aborts whatever is still in flight (after the shutdown grace period). */
  destroy(): Promise<void> {
    return this.#agent.destroy();
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= RESPONSE_BODY_LIMIT) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8');
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
    return new HttpFailure(`blocked: ${(cause instanceof BlockedAddressError ? cause : e).message}`, true);
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
