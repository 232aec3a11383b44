import { createHash, randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One event Klaviyo accepted (202). */
export interface KlaviyoEvent {
  headers: IncomingMessage['headers'];
  body: any;
  accessToken: string;
}

interface Code {
  redirectUri: string;
  challenge: string;
  scope: string;
  expiresAt: number;
  used: boolean;
}

interface Grant {
  refreshToken: string;
  accessTokens: Map<string, number>;
  revoked: boolean;
}

/**
 * Klaviyo's OAuth and Events endpoints on 127.0.0.1, enforcing what Klaviyo documents:
 * client Basic auth and form bodies on /oauth/token and /oauth/revoke, PKCE S256, single-use
 * codes bound to their redirect URI, rotating refresh tokens, expiring access tokens, and
 * on /api/events a bearer token, a `revision` header, the JSON:API body, 429 + Retry-After,
 * and deduplication by `unique_id`. The authorize endpoint plays the user: it consents (or
 * declines) at once and redirects (302) to the redirect URI with `code` and `state`.
 */
export class FakeKlaviyo {
  readonly clientId = 'herald-test-client';
  readonly clientSecret = `secret_${randomBytes(12).toString('hex')}`;
  /** The redirect URI registered with the app; authorize and token refuse any other. */
  registeredRedirectUri = '';
  /** Lifetime of access tokens issued from now on. */
  accessTtlSeconds = 3600;
  /** Delay before the token endpoint answers (to make concurrent refreshes overlap). */
  tokenDelayMs = 0;
  consent: 'allow' | 'deny' = 'allow';
  /** Make the revoke endpoint answer 500 (Herald must delete the connection anyway). */
  failRevoke = false;
  /** Accepted events, duplicates (same profile, metric and unique_id) left out. */
  readonly events: KlaviyoEvent[] = [];
  readonly stats = { eventRequests: 0, duplicates: 0, unauthorized: 0, codeExchanges: 0, refreshCalls: 0, invalidGrants: 0, revocations: 0 };
  /** Every token ever issued, to look for leaks. */
  readonly issued: string[] = [];
  url = '';

  readonly #codes = new Map<string, Code>();
  readonly #grants: Grant[] = [];
  readonly #seen = new Set<string>();
  #throttle = { remaining: 0, retryAfterSeconds: 1 };
  #server = createServer((req, res) => void this.#handle(req, res));

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Herald's HERALD_KLAVIYO_* pointing here. */
  env(): Record<string, string> {
    return {
      HERALD_KLAVIYO_CLIENT_ID: this.clientId,
      HERALD_KLAVIYO_CLIENT_SECRET: this.clientSecret,
      HERALD_KLAVIYO_AUTHORIZE_URL: `${this.url}/oauth/authorize`,
      HERALD_KLAVIYO_TOKEN_URL: `${this.url}/oauth/token`,
      HERALD_KLAVIYO_REVOKE_URL: `${this.url}/oauth/revoke`,
      HERALD_KLAVIYO_API_URL: this.url,
    };
  }

  /** Time passes: every access token issued so far stops working. */
  expireAccessTokens(): void {
    for (const g of this.#grants) for (const t of g.accessTokens.keys()) g.accessTokens.set(t, 0);
  }

  /** The user removed the app in Klaviyo: every grant, refresh tokens included, is revoked. */
  revokeAllGrants(): void {
    for (const g of this.#grants) g.revoked = true;
  }

  /** The next `count` event requests get 429 with `Retry-After: seconds`. */
  throttleNext(count: number, retryAfterSeconds: number): void {
    this.#throttle = { remaining: count, retryAfterSeconds };
  }

  async waitForEvents(count: number, timeoutMs = 20_000): Promise<KlaviyoEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`fake Klaviyo got ${this.events.length} of ${count} events`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.events;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'GET' && url.pathname === '/oauth/authorize') return this.#authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/oauth/token') return this.#token(req, body, res);
    if (req.method === 'POST' && url.pathname === '/oauth/revoke') return this.#revoke(req, body, res);
    if (req.method === 'POST' && /^\/api\/events\/?$/.test(url.pathname)) return this.#event(req, body, res);
    send(res, 404, { errors: [{ status: 404, code: 'not_found', detail: 'Not found.' }] });
  }

  #authorize(url: URL, res: ServerResponse): void {
    const q = Object.fromEntries(url.searchParams);
    const problem =
      q.response_type !== 'code' ? 'response_type must be code'
      : q.client_id !== this.clientId ? 'unknown client_id'
      : q.redirect_uri !== this.registeredRedirectUri ? 'redirect_uri is not registered for this app'
      : !q.state ? 'state is required'
      : q.code_challenge_method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge ?? '') ? 'PKCE S256 code_challenge is required'
      : !q.scope ? 'scope is required'
      : undefined;
    if (problem) {
      res.writeHead(400, { 'content-type': 'text/html' }).end(`<p>Invalid authorization request: ${problem}</p>`);
      return;
    }
    const back = new URL(q.redirect_uri as string);
    if (this.consent === 'deny') {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user declined the request.');
    } else {
      const code = randomBytes(24).toString('base64url');
      this.#codes.set(code, {
        redirectUri: q.redirect_uri as string,
        challenge: q.code_challenge as string,
        scope: q.scope as string,
        expiresAt: Date.now() + 5 * 60_000,
        used: false,
      });
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', q.state as string);
    res.writeHead(302, { location: back.toString() }).end();
  }

  /** Client authentication and a form body, as every OAuth endpoint requires. */
  #client(req: IncomingMessage, res: ServerResponse): boolean {
    const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      send(res, 401, { error: 'invalid_client' });
      return false;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      send(res, 400, { error: 'invalid_request', error_description: 'The body must be form-encoded.' });
      return false;
    }
    return true;
  }

  async #token(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    if (this.tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.tokenDelayMs));
    if (!this.#client(req, res)) return;
    const form = Object.fromEntries(new URLSearchParams(body));
    if (form.grant_type === 'authorization_code') {
      this.stats.codeExchanges++;
      const code = this.#codes.get(form.code ?? '');
      const problem =
        !code || code.used || code.expiresAt < Date.now() ? 'The authorization code is invalid, expired or used.'
        : form.redirect_uri !== code.redirectUri ? 'redirect_uri does not match the authorization request.'
        : !/^[a-zA-Z0-9\-._~]{43,128}$/.test(form.code_verifier ?? '') ? 'Invalid "code_verifier".'
        : createHash('sha256').update(form.code_verifier ?? '').digest('base64url') !== code.challenge ? 'Code challenge failed.'
        : undefined;
      if (code) code.used = true;
      if (problem) return send(res, 400, { error: 'invalid_grant', error_description: problem });
      const grant: Grant = { refreshToken: '', accessTokens: new Map(), revoked: false };
      this.#grants.push(grant);
      return send(res, 200, this.#issue(grant, code?.scope ?? ''));
    }
    if (form.grant_type === 'refresh_token') {
      this.stats.refreshCalls++;
      const grant = this.#grants.find((g) => !g.revoked && g.refreshToken === form.refresh_token);
      if (!grant) {
        this.stats.invalidGrants++;
        return send(res, 400, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
      }
      return send(res, 200, this.#issue(grant, 'events:write profiles:write'));
    }
    send(res, 400, { error: 'unsupported_grant_type' });
  }

  /** New access and refresh tokens; the previous refresh token stops working (rotation). */
  #issue(grant: Grant, scope: string) {
    const access = `kat_${randomBytes(24).toString('hex')}`;
    const refresh = `krt_${randomBytes(24).toString('hex')}`;
    grant.refreshToken = refresh;
    grant.accessTokens.set(access, Date.now() + this.accessTtlSeconds * 1000);
    this.issued.push(access, refresh);
    return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: this.accessTtlSeconds, scope };
  }

  #revoke(req: IncomingMessage, body: string, res: ServerResponse): void {
    if (!this.#client(req, res)) return;
    if (this.failRevoke) return send(res, 500, { error: 'server_error' });
    const form = Object.fromEntries(new URLSearchParams(body));
    const grant = this.#grants.find((g) => g.refreshToken === form.token || g.accessTokens.has(form.token ?? ''));
    if (grant) grant.revoked = true;
    this.stats.revocations++;
    res.writeHead(200).end();
  }

  #event(req: IncomingMessage, body: string, res: ServerResponse): void {
    this.stats.eventRequests++;
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const grant = this.#grants.find((g) => !g.revoked && (g.accessTokens.get(token) ?? 0) > Date.now());
    if (!grant) {
      this.stats.unauthorized++;
      return send(res, 401, apiError(401, 'not_authenticated', 'Missing or invalid access token.'));
    }
    if (!/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(String(req.headers.revision ?? ''))) {
      return send(res, 400, apiError(400, 'invalid', 'A valid `revision` header is required.'));
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/vnd.api+json')) {
      return send(res, 415, apiError(415, 'unsupported_media_type', 'Use application/vnd.api+json.'));
    }
    if (this.#throttle.remaining > 0) {
      this.#throttle.remaining--;
      res.writeHead(429, { 'content-type': 'application/vnd.api+json', 'retry-after': String(this.#throttle.retryAfterSeconds) });
      res.end(JSON.stringify(apiError(429, 'throttled', 'Request was throttled.')));
      return;
    }
    let parsed: any;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 400, apiError(400, 'invalid', 'The body is not JSON.'));
    }
    const problem = eventProblem(parsed);
    if (problem) return send(res, 400, apiError(400, 'invalid', problem));
    const a = parsed.data.attributes;
    const who = JSON.stringify(a.profile.data.attributes);
    const key = `${who}|${a.metric.data.attributes.name}|${a.unique_id ?? a.time}`;
    if (this.#seen.has(key)) this.stats.duplicates++;
    else {
      this.#seen.add(key);
      this.events.push({ headers: req.headers, body: parsed, accessToken: token });
    }
    res.writeHead(202).end();
  }
}

/** The Create Event body as Klaviyo validates it; undefined when it is fine. */
function eventProblem(body: any): string | undefined {
  const data = body?.data;
  const a = data?.attributes;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (data?.type !== 'event' || !isObject(a)) return 'data.type must be "event" with attributes';
  if (!isObject(a.properties)) return 'attributes.properties is required';
  if (a.time !== undefined && Number.isNaN(Date.parse(a.time))) return 'attributes.time must be ISO 8601';
  if (a.unique_id !== undefined && typeof a.unique_id !== 'string') return 'attributes.unique_id must be a string';
  const metric = a.metric?.data;
  if (metric?.type !== 'metric' || typeof metric.attributes?.name !== 'string' || metric.attributes.name === '') {
    return 'attributes.metric.data must be a metric with a name';
  }
  if (metric.attributes.name.length >= 128) return 'the metric name must be less than 128 characters';
  const profile = a.profile?.data;
  if (profile?.type !== 'profile' || !isObject(profile.attributes)) return 'attributes.profile.data must be a profile';
  const p = profile.attributes;
  if (!p.email && !p.phone_number && !p.external_id && !profile.id) return 'the profile needs an identifier';
  return undefined;
}

function apiError(status: number, code: string, detail: string) {
  return { errors: [{ id: randomBytes(8).toString('hex'), status, code, title: detail, detail, source: { pointer: '/data' } }] };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startFakeKlaviyo(): Promise<FakeKlaviyo> {
  return new FakeKlaviyo().start();
}
