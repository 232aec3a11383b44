import { check, compile } from '../../domain/validation.js';
import type { ConnectionRow } from '../../store/schema.js';
import { VERSION } from '../../version.js';
import type { Connector, DeliveryJob, Outcome, StoredConfig } from '../connector.js';
import { type HttpClient, HttpFailure, type HttpResult } from '../http-client.js';
import { eventBody } from './event-body.js';
import { KLAVIYO_REVISION } from './settings.js';
import { type KlaviyoTokens, NotAuthorizedError } from './tokens.js';

const validateShape = compile({ type: 'object', additionalProperties: false, properties: {} });
const REDACTED = '[REDACTED]';

/**
 * Klaviyo connections hold no configuration of their own: the account is linked by OAuth2
 * (the authorization endpoints) and each event goes to Klaviyo's Create Event API.
 */
export class KlaviyoConnector implements Connector {
  readonly type = 'klaviyo';
  readonly initialStatus = 'pending_authorization';
  readonly #url: string;

  constructor(
    private readonly http: HttpClient,
    private readonly tokens: KlaviyoTokens,
    apiUrl: string,
  ) {
    this.#url = `${apiUrl}/api/events`;
  }

  prepare(input: unknown): StoredConfig {
    check(validateShape, input);
    return { config: {}, auth: null };
  }

  publicConfig(): Record<string, unknown> {
    return {};
  }

  limits() {
    return { retryAttempts: 5, timeoutMs: 10_000 };
  }

  onDelete(row: ConnectionRow): Promise<void> {
    return this.tokens.revoke(row);
  }

  /** One attempt; a 401 gets one token refresh and one more request within it. */
  async deliver(job: DeliveryJob): Promise<Outcome> {
    const startedAt = Date.now();
    const log: Record<string, string> = {
      authorization: REDACTED,
      revision: KLAVIYO_REVISION,
      'content-type': 'application/vnd.api+json',
      accept: 'application/vnd.api+json',
      'user-agent': `Herald/${VERSION}`,
    };
    const fail = (error: string, extra: Partial<Outcome> = {}): Outcome => ({
      ok: false,
      status: null,
      body: null,
      error,
      url: this.#url,
      requestHeaders: log,
      startedAt,
      durationMs: Date.now() - startedAt,
      ...extra,
    });
    const built = eventBody(job);
    if ('problem' in built) return fail(built.problem, { permanent: built.problem });
    let token: string | undefined;
    try {
      token = await this.tokens.accessToken(job.connection);
      let res = await this.#send(token, built.body, log, job.connection.timeoutMs);
      if (res.status === 401) {
        token = await this.tokens.accessToken(job.connection, token);
        res = await this.#send(token, built.body, log, job.connection.timeoutMs);
      }
      return this.#outcome(res, fail);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof NotAuthorizedError) return fail(message, { permanent: message });
      if (error instanceof HttpFailure && error.blocked) return fail(message, { permanent: message });
      const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      return fail(message, retryAfterMs !== undefined ? { retryAfterMs } : {});
    }
  }

  #send(token: string, body: string, log: Record<string, string>, timeoutMs: number): Promise<HttpResult> {
    return this.http.send('POST', this.#url, { ...log, authorization: `Bearer ${token}` }, body, timeoutMs);
  }

  #outcome(res: HttpResult, fail: (error: string, extra?: Partial<Outcome>) => Outcome): Outcome {
    const answered = { status: res.status, body: res.body };
    if (res.status >= 200 && res.status < 300) return { ...fail(''), ...answered, ok: true, error: null };
    const error = `Klaviyo answered ${res.status}${res.status === 401 ? ' even after a token refresh' : ''}`;
    const extra: Partial<Outcome> = { ...answered };
    if (res.retryAfterMs !== undefined) extra.retryAfterMs = res.retryAfterMs;
    // 400: Klaviyo validated the body and refused it; the same body would be refused again.
    if (res.status === 400) extra.permanent = `${error}: Klaviyo rejected the event`;
    return fail(error, extra);
  }
}
