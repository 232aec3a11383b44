/**
 * `extra_headers` can carry credentials (`Authorization`, `X-Api-Key`, a session cookie…).
 * Every value is sealed at rest; these rules decide which ones the API shows only masked and
 * the attempt log only redacted.
 */

/** What the API shows instead of a sensitive header's value; sent back in a PATCH it keeps the value. */
export const MASKED_VALUE = '****';
/** What the attempt log stores instead of a credential. */
export const REDACTED = '[REDACTED]';

const SENSITIVE_NAMES = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'cookie']);
const SENSITIVE_PARTS = ['token', 'secret', 'key', 'auth', 'session', 'password'];

/** Case-insensitive: the names above, or any name containing one of the words above. */
export function isSensitiveHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_NAMES.has(lower) || SENSITIVE_PARTS.some((part) => lower.includes(part));
}

/** The headers with each sensitive value replaced by `replacement`. */
export function hideSensitive(headers: Record<string, string>, replacement: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = isSensitiveHeader(name) ? replacement : value;
  return out;
}
