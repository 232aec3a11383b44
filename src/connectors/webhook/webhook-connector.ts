import { MASKED_VALUE, REDACTED, hideSensitive } from '../../security/header-secrets.js';
import { sendkitSignature, standardKey, standardSignature } from '../../security/signing.js';
import { VERSION } from '../../version.js';
import type { Connector, DeliveryJob, Outcome, ResolvedConnection, StoredConfig } from '../connector.js';
import { HttpFailure, type HttpClient } from '../http-client.js';
import {
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_WEBHOOK_LIMITS,
  type WebhookLimits,
  defaultTimeoutMs,
  prepareWebhookConfig,
} from './config.js';
const USER_AGENT = `Herald/${VERSION}`;

/** HMAC keys decoded once per secret, not once per attempt. */
const keyCache = new Map<string, Buffer>();
function keyOf(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size > 10_000) keyCache.clear();
    key = standardKey(secret);
    keyCache.set(secret, key);
  }
  return key;
}

export class WebhookConnector implements Connector {
  readonly type = 'webhook';
  readonly initialStatus = 'active';

  constructor(
    private readonly http: HttpClient,
    private readonly bounds: WebhookLimits = DEFAULT_WEBHOOK_LIMITS,
  ) {}

  prepare(input: unknown, existing?: StoredConfig): StoredConfig {
    return prepareWebhookConfig(input, existing, this.bounds);
  }

  /** Sensitive `extra_headers` (credentials by their name) show as "****"; the others as they are. */
  publicConfig(config: Record<string, unknown>): Record<string, unknown> {
    return {
      url: config.url,
      auth_type: config.auth_type,
      extra_headers: hideSensitive((config.extra_headers ?? {}) as Record<string, string>, MASKED_VALUE),
      retry_attempts: config.retry_attempts,
      timeout_ms: config.timeout_ms,
    };
  }

  limits(config: Record<string, unknown>) {
    return {
      retryAttempts: (config.retry_attempts as number | undefined) ?? DEFAULT_RETRY_ATTEMPTS,
      timeoutMs: (config.timeout_ms as number | undefined) ?? defaultTimeoutMs(this.bounds),
    };
  }

  /** Request headers, and the same with credentials redacted for the attempt log. */
  headers(job: DeliveryJob, timestamp: number): { send: Record<string, string>; log: Record<string, string> } {
    const { connection } = job;
    const template = templateOf(connection);
    let signed: Record<string, string>;
    if (connection.signatureScheme === 'sendkit') {
      signed = {
        'x-webhook-event': job.isTest ? 'test' : job.eventType,
        'x-webhook-signature': sendkitSignature(connection.signingSecrets[0] as string, job.body),
      };
    } else {
      const secrets = connection.signingSecrets;
      let signature = standardSignature(keyOf(secrets[0] as string), job.messageId, timestamp, job.body);
      for (let i = 1; i < secrets.length; i++) {
        signature += ` ${standardSignature(keyOf(secrets[i] as string), job.messageId, timestamp, job.body)}`;
      }
      signed = { 'webhook-id': job.messageId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
    }
    return { send: Object.assign({}, template.send, signed), log: Object.assign({}, template.log, signed) };
  }

  deliver(job: DeliveryJob): Promise<Outcome> {
    const startedAt = Date.now();
    const url = job.connection.config.url as string;
    const { send, log } = this.headers(job, Math.floor(startedAt / 1000));
    return this.http.send('POST', url, send, job.body, job.connection.timeoutMs).then(
      (res): Outcome => {
        const ok = res.status >= 200 && res.status < 300;
        const outcome: Outcome = {
          ok,
          status: res.status,
          body: res.body,
          error: ok ? null : `endpoint answered ${res.status}`,
          url,
          requestHeaders: log,
          startedAt,
          durationMs: Date.now() - startedAt,
        };
        if (res.retryAfterMs !== undefined) outcome.retryAfterMs = res.retryAfterMs;
        if (res.status === 410) {
          outcome.permanent = 'endpoint answered 410 Gone';
          outcome.deactivate = 'endpoint answered 410 Gone';
        }
        return outcome;
      },
      (error: unknown): Outcome => {
        const message = error instanceof Error ? error.message : String(error);
        const outcome: Outcome = {
          ok: false,
          status: null,
          body: null,
          error: message,
          url,
          requestHeaders: log,
          startedAt,
          durationMs: Date.now() - startedAt,
        };
        if (error instanceof HttpFailure && error.blocked) outcome.permanent = message;
        return outcome;
      },
    );
  }
}

/** The headers every request of one connection (version) shares, built once. */
interface HeaderTemplate {
  send: Record<string, string>;
  log: Record<string, string>;
}

const templates = new WeakMap<ResolvedConnection, HeaderTemplate>();

function templateOf(connection: ResolvedConnection): HeaderTemplate {
  let template = templates.get(connection);
  if (template) return template;
  const extra = (connection.config.extra_headers ?? {}) as Record<string, string>;
  const send: Record<string, string> = { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...extra };
  // The attempt log shows which headers went out, but no credential carried in one.
  const log: Record<string, string> = { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...hideSensitive(extra, REDACTED) };
  const auth = connection.auth;
  if (auth && connection.config.auth_type === 'bearer') {
    send.authorization = `Bearer ${auth.token}`;
    log.authorization = REDACTED;
  } else if (auth && connection.config.auth_type === 'basic') {
    send.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    log.authorization = REDACTED;
  } else if (auth && connection.config.auth_type === 'api_key') {
    send[(auth.header_name as string).toLowerCase()] = auth.api_key as string;
    log[(auth.header_name as string).toLowerCase()] = REDACTED;
  }
  template = { send, log };
  templates.set(connection, template);
  return template;
}
