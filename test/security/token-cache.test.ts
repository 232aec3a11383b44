/**
 * A cached bearer token never outlives its own `expires_at`: the cache may spare a query for
 * up to 10 s, but not past the token's expiry (it used to keep one up to 10 s longer).
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

  it('still caches a long-lived token for at most 10 s', async () => {
    let now = Date.parse('2026-03-02T12:00:00Z');
    const auth = new AuthService(h.herald.store, 3600, () => now);
    const key = await auth.createKey(`token-cache-long-${kind}`);
    const pair = await auth.keyPair(key.public_key, key.secret_key);
    const issued = await auth.issueToken(pair!.apiKeyId, pair!.organizationId);
    expect(await auth.bearer(issued.access_token)).toBe(key.organization_id);
    // Revoked in the database: the cache may answer for 10 s, then asks again.
    await h.herald.store.db.deleteFrom('access_tokens').execute();
    now += 9_999;
    expect(await auth.bearer(issued.access_token)).toBe(key.organization_id);
    now += 2;
    expect(await auth.bearer(issued.access_token)).toBeUndefined();
  });
});
