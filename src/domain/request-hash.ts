import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';

/** JSON with every object's keys sorted: the same parsed body always gives the same text. */
const canonicalJson = configure({ deterministic: true, strict: true });

/**
 * What an Idempotency-Key is bound to: SHA-256 (hex) of the organization, the route
 * (`single` and `batch` answer differently) and the canonical body — key order and
 * whitespace do not count, any other difference does.
 */
export function requestHash(organizationId: number, route: string, body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ organization_id: organizationId, route, body }) as string)
    .digest('hex');
}
