import { HeraldError } from '../errors.js';

/** Where the v3 services point, and the SendKit field that was given instead. */
const POINTERS: Record<string, string> = {
  '/configuration/url': '/url',
  '/configuration/retry_attempts': '/retryAttempts',
  '/configuration/timeout_ms': '/timeoutMs',
  '/event_type': '/events',
};

/**
 * Runs a v3 service call on behalf of `/v1`: its validation errors (the webhook connector's
 * URL check, the catalog check) are reported under the SendKit field names the client sent.
 */
export async function inSendkitTerms<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof HeraldError)) throw error;
    throw new HeraldError(
      error.status,
      error.errors.map((e) => (e.pointer !== undefined && POINTERS[e.pointer] ? { ...e, pointer: POINTERS[e.pointer] } : e)),
    );
  }
}
