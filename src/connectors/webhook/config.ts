import type { ValidateFunction } from 'ajv';
import { HeraldError, escapePointer, type FieldError } from '../../domain/errors.js';
import { check, compile } from '../../domain/validation.js';
import { MASKED_VALUE } from '../../security/header-secrets.js';
import type { StoredConfig } from '../connector.js';

export const AUTH_TYPES = ['none', 'bearer', 'basic', 'api_key'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

/** What each auth type needs in `auth_config`. */
export const AUTH_FIELDS: Record<AuthType, string[]> = {
  none: [],
  bearer: ['token'],
  basic: ['username', 'password'],
  api_key: ['header_name', 'api_key'],
};

export const DEFAULT_RETRY_ATTEMPTS = 5;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const MAX_URL_LENGTH = 2048;

/** What one tenant may ask of a webhook (config.ts: HERALD_MAX_TIMEOUT_MS, HERALD_MAX_EXTRA_HEADERS…). */
export interface WebhookLimits {
  maxTimeoutMs: number;
  extraHeaders: number;
  /** Names and values together, in UTF-8 bytes. */
  extraHeadersBytes: number;
}

export const DEFAULT_WEBHOOK_LIMITS: WebhookLimits = { maxTimeoutMs: 30_000, extraHeaders: 20, extraHeadersBytes: 8192 };

/** 10 s, unless HERALD_MAX_TIMEOUT_MS is lower. */
export function defaultTimeoutMs(limits: WebhookLimits): number {
  return Math.min(DEFAULT_TIMEOUT_MS, limits.maxTimeoutMs);
}

/** The shape of a webhook `configuration`; each field optional here because PATCH merges. */
export const webhookConfigSchema = (limits: WebhookLimits = DEFAULT_WEBHOOK_LIMITS) => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    url: { type: 'string', maxLength: MAX_URL_LENGTH, description: 'Absolute http or https URL that receives the events.' },
    auth_type: { type: 'string', enum: [...AUTH_TYPES], default: 'none' },
    auth_config: {
      type: 'object',
      description: 'Credentials for auth_type (write-only, never returned).',
      additionalProperties: { type: 'string' },
    },
    extra_headers: { type: 'object', additionalProperties: { type: 'string' } },
    retry_attempts: { type: 'integer', minimum: 0, maximum: 10, default: DEFAULT_RETRY_ATTEMPTS },
    timeout_ms: { type: 'integer', minimum: 1000, maximum: limits.maxTimeoutMs, default: defaultTimeoutMs(limits) },
  },
});

/** One compiled schema per maximum timeout (in practice: one per process). */
const validators = new Map<number, ValidateFunction>();
function shapeValidator(limits: WebhookLimits): ValidateFunction {
  let validate = validators.get(limits.maxTimeoutMs);
  if (!validate) {
    validate = compile(webhookConfigSchema(limits));
    validators.set(limits.maxTimeoutMs, validate);
  }
  return validate;
}

// Headers Herald sets itself, and hop-by-hop headers a client must not forward.
const RESERVED = new Set([
  'host',
  'content-length',
  'content-type',
  'user-agent',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'x-webhook-signature',
  'x-webhook-event',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function headerNameProblem(name: string): string | undefined {
  if (!TOKEN.test(name)) return `"${name}" is not a valid HTTP header name.`;
  const lower = name.toLowerCase();
  if (RESERVED.has(lower) || lower.startsWith('webhook-')) return `The header "${name}" is set by Herald and cannot be overridden.`;
  return undefined;
}

export function isValidUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && !/\s/.test(value);
  } catch {
    return false;
  }
}

/**
 * Validates a create (no `existing`) or a PATCH merged over `existing`: top-level keys of the
 * PATCH replace the stored ones; `auth_config` must accompany a change of `auth_type`. In an
 * `extra_headers` of a PATCH, a value of MASKED_VALUE ("****", what GET shows for a
 * sensitive header) keeps the stored value of that header.
 */
export function prepareWebhookConfig(
  input: unknown,
  existing?: StoredConfig,
  limits: WebhookLimits = DEFAULT_WEBHOOK_LIMITS,
): StoredConfig {
  check(shapeValidator(limits), input);
  const patch = input as Record<string, unknown>;
  const errors: FieldError[] = [];
  const merged: Record<string, unknown> = { ...(existing?.config ?? {}), ...patch };
  delete merged.auth_config;

  if (merged.url === undefined) errors.push({ code: 'required', detail: 'This field is required.', pointer: '/url' });
  else if (!isValidUrl(merged.url as string)) errors.push({ code: 'invalid', detail: 'Enter a valid URL.', pointer: '/url' });
  else if (hasCredentials(merged.url as string)) {
    // Credentials in the URL would be stored and shown in the clear; auth_config is sealed.
    errors.push({
      code: 'invalid',
      detail: 'Enter a valid URL without a username or password; use auth_type "basic" for credentials.',
      pointer: '/url',
    });
  }

  const authType = (merged.auth_type ?? 'none') as AuthType;
  merged.auth_type = authType;
  let auth: Record<string, string> | null = existing?.auth ?? null;
  const authTypeChanged = existing !== undefined && patch.auth_type !== undefined && patch.auth_type !== existing.config.auth_type;
  if (patch.auth_config !== undefined || existing === undefined || authTypeChanged) {
    auth = checkAuth(authType, patch.auth_config as Record<string, string> | undefined, errors);
  }

  const headers = { ...((merged.extra_headers ?? {}) as Record<string, string>) };
  if (patch.extra_headers !== undefined || existing === undefined) {
    keepMaskedValues(headers, (existing?.config.extra_headers ?? {}) as Record<string, string>, errors);
    checkHeaderLimits(headers, limits, errors);
  }
  const seen = new Set<string>();
  const authHeader = authHeaderName(authType, auth);
  for (const [name, value] of Object.entries(headers)) {
    const pointer = `/extra_headers/${escapePointer(name)}`;
    const problem = headerNameProblem(name);
    const lower = name.toLowerCase();
    if (problem) errors.push({ code: 'invalid', detail: problem, pointer });
    else if (seen.has(lower)) {
      errors.push({ code: 'invalid', detail: `The header "${name}" is given twice (names are case-insensitive).`, pointer });
    } else if (lower === authHeader) {
      errors.push({ code: 'invalid', detail: `The header "${name}" is set by auth_type "${authType}".`, pointer });
    }
    else if (!FIELD_VALUE.test(value)) {
      errors.push({ code: 'invalid', detail: `The value of header "${name}" contains characters not allowed in HTTP.`, pointer });
    }
    seen.add(lower);
  }
  merged.extra_headers = headers;
  merged.retry_attempts ??= DEFAULT_RETRY_ATTEMPTS;
  merged.timeout_ms ??= defaultTimeoutMs(limits);
  if (errors.length > 0) throw new HeraldError(400, errors);
  return { config: merged, auth };
}

/** "****" sent back for a header: the stored value stays (the client never saw it). */
function keepMaskedValues(headers: Record<string, string>, stored: Record<string, string>, errors: FieldError[]): void {
  const byName = new Map(Object.entries(stored).map(([name, value]) => [name.toLowerCase(), value]));
  for (const [name, value] of Object.entries(headers)) {
    if (value !== MASKED_VALUE) continue;
    const kept = byName.get(name.toLowerCase());
    if (kept !== undefined) headers[name] = kept;
    else {
      errors.push({
        code: 'invalid',
        detail: `"${MASKED_VALUE}" stands for a hidden stored value, and the header "${name}" has none; send its real value.`,
        pointer: `/extra_headers/${escapePointer(name)}`,
      });
    }
  }
}

function checkHeaderLimits(headers: Record<string, string>, limits: WebhookLimits, errors: FieldError[]): void {
  const entries = Object.entries(headers);
  if (entries.length > limits.extraHeaders) {
    errors.push({
      code: 'invalid',
      detail: `Ensure this field has no more than ${limits.extraHeaders} headers (it has ${entries.length}).`,
      pointer: '/extra_headers',
    });
  }
  const bytes = entries.reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
  if (bytes > limits.extraHeadersBytes) {
    errors.push({
      code: 'invalid',
      detail: `Ensure the header names and values total no more than ${limits.extraHeadersBytes} bytes (they total ${bytes}).`,
      pointer: '/extra_headers',
    });
  }
}

function hasCredentials(value: string): boolean {
  const url = new URL(value);
  return url.username !== '' || url.password !== '';
}

/** The header the auth type writes, which extra_headers may not write as well. */
function authHeaderName(authType: AuthType, auth: Record<string, string> | null): string | undefined {
  if (authType === 'bearer' || authType === 'basic') return 'authorization';
  if (authType === 'api_key') return auth?.header_name?.toLowerCase();
  return undefined;
}

function checkAuth(
  authType: AuthType,
  given: Record<string, string> | undefined,
  errors: FieldError[],
): Record<string, string> | null {
  const needed = AUTH_FIELDS[authType];
  if (authType === 'none') {
    for (const key of Object.keys(given ?? {})) {
      errors.push({ code: 'unknown_field', detail: 'Unknown field.', pointer: `/auth_config/${escapePointer(key)}` });
    }
    return null;
  }
  if (given === undefined) {
    errors.push({ code: 'required', detail: `This field is required when auth_type is "${authType}".`, pointer: '/auth_config' });
    return null;
  }
  for (const key of Object.keys(given)) {
    if (!needed.includes(key)) {
      errors.push({ code: 'unknown_field', detail: 'Unknown field.', pointer: `/auth_config/${escapePointer(key)}` });
    }
  }
  for (const key of needed) {
    const value = given[key];
    const pointer = `/auth_config/${key}`;
    if (value === undefined) errors.push({ code: 'required', detail: 'This field is required.', pointer });
    else if (value === '') errors.push({ code: 'invalid', detail: 'This field may not be blank.', pointer });
    else if (!FIELD_VALUE.test(value)) errors.push({ code: 'invalid', detail: 'Contains characters not allowed in an HTTP header.', pointer });
  }
  if (authType === 'api_key' && given.header_name) {
    const problem = headerNameProblem(given.header_name);
    const lower = given.header_name.toLowerCase();
    if (problem) errors.push({ code: 'invalid', detail: problem, pointer: '/auth_config/header_name' });
    else if (lower === 'authorization' || lower === 'webhook-signature') {
      errors.push({ code: 'invalid', detail: `The header "${given.header_name}" cannot carry an API key.`, pointer: '/auth_config/header_name' });
    }
  }
  return { ...given };
}
