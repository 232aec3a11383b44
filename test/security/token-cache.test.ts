/**
 * A bearer token never outlives its own `expires_at` (a cache used to keep one up to 10 s
 * longer). Since key revocation (issue 12) there is no cache at all: a token gone from the
 * database is refused by the very next request, in every process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../src/domain/auth.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';

describe.each(DATABASES)('bearer-token cache on %s', (kind) => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
  });
  afterAll(() => h?.close());

  it('answers a token until its expiry and not a millisecond after, cached or not', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const auth = new AuthService(h.herald.store, 60, () => now);
    const key = await auth.createKey(`token-cache-${kind}`);
    const pair = await auth.keyPair(key.public_key, key.secret_key);
    const issued = await auth.issueToken(pair!.apiKeyId, pair!.organizationId);
    const expiresAt = now + 60_000;

    now = expiresAt - 5; // looked up (and cached) 5 ms before it expires
    expect(await auth.bearer(issued.access_token)).toBe(key.organization_id);
    now = expiresAt - 1;
    expect(await auth.bearer(issued.access_token)).toBe(key.organization_id);
    now = expiresAt; // expired: the cache entry must not answer for it
    expect(await auth.bearer(issued.access_token)).toBeUndefined();
    now = expiresAt + 5_000;
    expect(await auth.bearer(issued.access_token)).toBeUndefined();
  });

  it('refuses a long-lived token the moment it is gone from the database (no cache)', async () => {
    const now = Date.parse('2026-03-02T12:00:00Z');
    const auth = new AuthService(h.herald.store, 3600, () => now);
    const key = await auth.createKey(`token-cache-long-${kind}`);
    const pair = await auth.keyPair(key.public_key, key.secret_key);
    const issued = await auth.issueToken(pair!.apiKeyId, pair!.organizationId);
    expect(await auth.bearer(issued.access_token)).toBe(key.organization_id);
    expect(await auth.bearer(issued.access_token)).toBe(key.organization_id);
    // Deleted in the database (as revoking its key does): the same instant, refused.
    await h.herald.store.db.deleteFrom('access_tokens').execute();
    expect(await auth.bearer(issued.access_token)).toBeUndefined();
  });
});
