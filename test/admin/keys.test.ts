/**
 * An organization's keys through the admin API: issued with the secret shown once, listed
 * without secrets, `last_used_at` written at most once a minute, expiry, and revocation: the
 * key and every token minted with it answer 401 at once, also in a second Herald process
 * (and after `herald keys revoke` from a third).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService, LAST_USED_EVERY_MS } from '../../src/domain/auth.js';
import { ISO_SECONDS, expectOneError } from '../api/helpers.js';
import { sleep, waitUntil } from '../delivery/helpers.js';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type HeraldProcess, ensureBuilt, killAll, runCli, spawnHerald } from '../support/process.js';
import { ORGS, admin, createOrganization, issueKey, mintToken, newAdminToken } from './helpers.js';

const V3 = '/api/v3/event-subscriptions/connections';

describe.each(DATABASES)('admin keys on %s', (kind) => {
  const token = newAdminToken();
  let h: TestHerald;
  let other: HeraldProcess;
  let orgId: number;
  const call = (method: string, path: string, body?: unknown) => admin(h, token, method, path, body === undefined ? {} : { body });
  /** What each way of presenting this key answers on a Herald (this process or the other). */
  const statuses = async (on: Pick<TestHerald, 'request'>, key: Credentials, accessToken: string) => [
    (await on.request('GET', V3, { auth: key })).status,
    (await on.request('GET', V3, { auth: `Bearer ${accessToken}` })).status,
    (await on.request('GET', '/v1/webhooks', { headers: { 'x-api-key': key.secret_key } })).status,
  ];

  beforeAll(async () => {
    ensureBuilt();
    h = await startHerald(kind, { HERALD_ADMIN_TOKEN: token }, { workers: false });
    // A second process on the same database: an API process of the built CLI.
    other = await spawnHerald({ env: { ...h.env, HERALD_LOG_LEVEL: 'warn' }, role: 'api', name: 'second-api' });
    orgId = (await createOrganization(h, token, { name: 'Keyed', external_id: `keyed-${kind}` })).id;
  });
  afterAll(async () => {
    await killAll();
    await h?.close();
  });

  it('issues a key pair (201) whose secret is shown once and works at once', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const res = await call('POST', `${ORGS}/${orgId}/keys`, { description: 'checkout service', expires_at: expiresAt });
    expect(res.status, res.text).toBe(201);
    expect(res.body.data).toEqual({
      id: expect.any(Number),
      public_key: expect.stringMatching(/^pk_\S{16,}$/),
      secret_key: expect.stringMatching(/^sk_\S{32,}$/),
      description: 'checkout service',
      created_at: expect.stringMatching(ISO_SECONDS),
      expires_at: expiresAt,
      last_used_at: null,
    });
    const { public_key: pk, secret_key: sk } = res.body.data;
    const basic = `Basic ${Buffer.from(`${pk}:${sk}`).toString('base64')}`;
    expect((await h.request('GET', V3, { auth: basic })).status).toBe(200);
    // The use is recorded off the request's path: shortly after.
    const list = await waitUntil('the use to be recorded', async () => {
      const l = await call('GET', `${ORGS}/${orgId}/keys`);
      return l.body.data.find((k: { id: number; last_used_at: string | null }) => k.id === res.body.data.id)?.last_used_at ? l : undefined;
    });
    const listed = list.body.data.find((k: { id: number }) => k.id === res.body.data.id);
    expect(listed).toEqual({ ...res.body.data, secret_key: undefined, last_used_at: expect.stringMatching(ISO_SECONDS) });
    expect('secret_key' in listed).toBe(false);
    expect(list.text).not.toContain(sk);
    const empty = await call('POST', `${ORGS}/${orgId}/keys`);
    expect(empty.status, empty.text).toBe(201);
    expect(empty.body.data).toMatchObject({ description: null, expires_at: null, last_used_at: null });
  });

  it('lists keys oldest first with cursor pagination, never a secret', async () => {
    const org = await createOrganization(h, token, { name: 'Many keys' });
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await issueKey(h, token, org.id, { description: `k${i}` }));
    const seen = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `${ORGS}/${org.id}/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, res.text).toBe(200);
      for (const k of res.body.data) expect(Object.keys(k).sort()).toEqual(['created_at', 'description', 'expires_at', 'id', 'last_used_at', 'public_key']);
      seen.push(...res.body.data);
      cursor = res.body.meta.next_cursor;
    } while (cursor);
    expect(seen.map((k) => k.id)).toEqual(made.map((k) => k.id));
    expect(seen.map((k) => k.description)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    // Another organization's list does not show them.
    const mine = (await call('GET', `${ORGS}/${orgId}/keys?limit=100`)).body.data.map((k: { id: number }) => k.id);
    for (const k of made) expect(mine).not.toContain(k.id);
  });

  it('answers bad input with 400 and an unknown organization with 404, issuing nothing', async () => {
    const count = async () => (await call('GET', `${ORGS}/${orgId}/keys?limit=100`)).body.data.length;
    const before = await count();
    const past = new Date(Date.now() - 1000).toISOString();
    expectOneError(await call('POST', `${ORGS}/${orgId}/keys`, { expires_at: past }), 400, 'invalid', '/data/expires_at', 'The expiry must be in the future.');
    expectOneError(await call('POST', `${ORGS}/${orgId}/keys`, { expires_at: 'tomorrow' }), 400, 'invalid', '/data/expires_at');
    expectOneError(await call('POST', `${ORGS}/${orgId}/keys`, { description: 'x'.repeat(501) }), 400, 'invalid', '/data/description');
    expectOneError(await call('POST', `${ORGS}/${orgId}/keys`, { scopes: ['all'] }), 400, 'unknown_field', '/data/scopes');
    expect(await count()).toBe(before);
    expectOneError(await call('POST', `${ORGS}/999999/keys`, {}), 404, 'not_found', undefined, 'No organization has the id 999999.');
    expectOneError(await call('GET', `${ORGS}/999999/keys`), 404, 'not_found', undefined);
    expectOneError(await call('DELETE', `${ORGS}/999999/keys/1`), 404, 'not_found', undefined);
  });

  it('a key past its expires_at answers 401, and so do its tokens', async () => {
    const key = await issueKey(h, token, orgId, { expires_at: new Date(Date.now() + 2500).toISOString() });
    const accessToken = await mintToken(h, key);
    expect(await statuses(h, key, accessToken)).toEqual([200, 200, 200]);
    await waitUntil('the key to expire', async () => (await h.request('GET', V3, { auth: key })).status === 401, 10_000, 100);
    expect(await statuses(h, key, accessToken)).toEqual([401, 401, 401]);
    expect(await statuses(other, key, accessToken)).toEqual([401, 401, 401]);
  });

  it('writes last_used_at at most once a minute per key', async () => {
    const store = h.herald.store;
    let now = Date.parse('2031-05-01T10:00:00Z');
    const auth = new AuthService(store, 3600, () => now);
    const key = await issueKey(h, token, orgId);
    const lastUsed = async () =>
      (await store.db.selectFrom('api_keys').select('last_used_at').where('id', '=', key.id).executeTakeFirstOrThrow()).last_used_at;
    expect(await lastUsed()).toBeNull();
    const first = now;
    expect(await auth.keyPair(key.public_key, key.secret_key)).toBeDefined();
    await waitUntil('last_used_at to be written', async () => (await lastUsed()) === first);
    for (const step of [1, 1_000, 30_000, LAST_USED_EVERY_MS - 1]) {
      now = first + step;
      expect(await auth.secretKey(key.secret_key)).toBe(orgId);
      expect(await auth.keyPair(key.public_key, key.secret_key)).toBeDefined();
    }
    await sleep(200);
    expect(await lastUsed()).toBe(first);
    // A minute on, by another AuthService (another process) too: written again, once.
    now = first + LAST_USED_EVERY_MS;
    const elsewhere = new AuthService(store, 3600, () => now);
    expect(await elsewhere.keyPair(key.public_key, key.secret_key)).toBeDefined();
    await waitUntil('last_used_at to move on', async () => (await lastUsed()) === now);
    const shown = (await call('GET', `${ORGS}/${orgId}/keys?limit=100`)).body.data.find((k: { id: number }) => k.id === key.id);
    expect(shown.last_used_at).toBe('2031-05-01T10:01:00Z');
  });

  it('revokes a key: it and its tokens answer 401 at once in both processes; other keys keep working', async () => {
    const key = await issueKey(h, token, orgId);
    const keep = await issueKey(h, token, orgId);
    const tokenHere = await mintToken(h, key);
    const tokenThere = await mintToken(other, key);
    const keepToken = await mintToken(other, keep);
    expect(await statuses(h, key, tokenThere)).toEqual([200, 200, 200]);
    expect(await statuses(other, key, tokenHere)).toEqual([200, 200, 200]);

    const res = await call('DELETE', `${ORGS}/${orgId}/keys/${key.id}`);
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    // The very next requests, in either process.
    expect(await statuses(other, key, tokenHere)).toEqual([401, 401, 401]);
    expect(await statuses(other, key, tokenThere)).toEqual([401, 401, 401]);
    expect(await statuses(h, key, tokenThere)).toEqual([401, 401, 401]);
    expect(await statuses(other, keep, keepToken)).toEqual([200, 200, 200]);
    // No new token from it either.
    const again = await other.request('POST', '/oauth2/token', {
      auth: key,
      raw: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(again.status).toBe(401);
    expectOneError(await call('DELETE', `${ORGS}/${orgId}/keys/${key.id}`), 404, 'not_found', undefined);
    const listed = (await call('GET', `${ORGS}/${orgId}/keys?limit=100`)).body.data.map((k: { id: number }) => k.id);
    expect(listed).not.toContain(key.id);
    expect(listed).toContain(keep.id);
  });

  it("does not revoke a key through another organization's path", async () => {
    const otherOrg = await createOrganization(h, token, { name: 'Bystander' });
    const key = await issueKey(h, token, orgId);
    const accessToken = await mintToken(h, key);
    expectOneError(await call('DELETE', `${ORGS}/${otherOrg.id}/keys/${key.id}`), 404, 'not_found', undefined);
    expect(await statuses(other, key, accessToken)).toEqual([200, 200, 200]);
  });

  it('herald keys revoke (a third process) is refused at once by the running processes', async () => {
    const key = await issueKey(h, token, orgId);
    const accessToken = await mintToken(other, key);
    expect(await statuses(other, key, accessToken)).toEqual([200, 200, 200]);
    const res = await runCli(['keys', 'revoke', String(key.id)], h.env);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ revoked: key.id, organization_id: orgId });
    expect(await statuses(other, key, accessToken)).toEqual([401, 401, 401]);
    expect(await statuses(h, key, accessToken)).toEqual([401, 401, 401]);
  });
});
