/**
 * Authentication: HTTP Basic with the key pair, and bearer tokens from the OAuth2
 * client-credentials grant at /oauth2/token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, type Resource, SUBSCRIPTIONS, createConnection, createSubscription, expectOneError } from './helpers.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe.each(DATABASES)('authentication on %s', (kind) => {
  let h: TestHerald;
  let a: Credentials;
  let b: Credentials;
  let aConn: Resource;
  let bConn: Resource;

  beforeAll(async () => {
    h = await startHerald(kind);
    a = await h.createOrg();
    b = await h.createOrg();
    aConn = await createConnection(h, a, { type: 'webhook', configuration: { url: 'https://a.example.com/hook' } });
    bConn = await createConnection(h, b, { type: 'webhook', configuration: { url: 'https://b.example.com/hook' } });
    await createSubscription(h, b, { connection_id: bConn.id, event_type: 'parcels.event.created' });
  });
  afterAll(() => h.close());

  /** POST /oauth2/token, form-encoded, the client authenticated as given. */
  const token = (form: Record<string, string>, authorization?: string) =>
    h.request('POST', '/oauth2/token', {
      raw: new URLSearchParams(form).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authorization ? { authorization } : {}),
      },
    });

  it('HTTP Basic with the key pair works', async () => {
    const res = await h.request('GET', CONNECTIONS, { auth: a });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: [aConn] });
  });

  it('no credentials → 401 authentication_failed, with a challenge', async () => {
    const res = await h.request('GET', CONNECTIONS);
    expectOneError(res, 401, 'authentication_failed', undefined);
    expect(res.headers.get('www-authenticate') ?? '').toMatch(/basic/i);
  });

  it('a wrong secret key → 401', async () => {
    expectOneError(await h.request('GET', CONNECTIONS, { auth: basic(a.public_key, `${a.secret_key}x`) }), 401, 'authentication_failed', undefined);
    expectOneError(await h.request('GET', CONNECTIONS, { auth: basic(a.public_key, '') }), 401, 'authentication_failed', undefined);
  });

  it('an unknown public key → 401', async () => {
    expectOneError(await h.request('GET', CONNECTIONS, { auth: basic('pk_unknown', a.secret_key) }), 401, 'authentication_failed', undefined);
  });

  it('malformed Basic credentials → 401', async () => {
    for (const auth of ['Basic', 'Basic !!!not-base64!!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, a.secret_key]) {
      expectOneError(await h.request('GET', CONNECTIONS, { auth }), 401, 'authentication_failed', undefined);
    }
  });

  it('the token endpoint issues a token that works as Bearer', async () => {
    const res = await token({ grant_type: 'client_credentials' }, a.basic);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/no-store/);
    expect(res.body.token_type).toBe('Bearer');
    expect(typeof res.body.access_token).toBe('string');
    expect(res.body.access_token.length).toBeGreaterThanOrEqual(20);
    expect(Number.isInteger(res.body.expires_in) && res.body.expires_in > 0).toBe(true);
    // The token is not one of the keys.
    expect(res.body.access_token).not.toContain(a.secret_key);

    const bearer = `Bearer ${res.body.access_token}`;
    const list = await h.request('GET', CONNECTIONS, { auth: bearer });
    expect(list.status, list.text).toBe(200);
    expect(list.body).toEqual({ data: [aConn] });
    // It writes too.
    const created = await h.request('POST', CONNECTIONS, {
      auth: bearer,
      body: { type: 'webhook', configuration: { url: 'https://a.example.com/by-token' } },
    });
    expect(created.status, created.text).toBe(201);
    expect((await h.request('GET', `${CONNECTIONS}/${created.body.data.id}`, { auth: a })).status).toBe(200);
    expect((await h.request('DELETE', `${CONNECTIONS}/${created.body.data.id}`, { auth: bearer })).status).toBe(204);
  });

  it('the token endpoint with wrong client credentials → 401', async () => {
    for (const authorization of [basic(a.public_key, 'sk_wrong'), basic('pk_unknown', a.secret_key), undefined]) {
      const res = await token({ grant_type: 'client_credentials' }, authorization);
      expect(res.status, res.text).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.body.access_token).toBeUndefined();
      expect(res.body.errors?.[0]?.code).toBe('authentication_failed');
    }
  });

  it('an unsupported grant_type → 400 unsupported_grant_type', async () => {
    const forms: Array<Record<string, string>> = [{ grant_type: 'password', username: 'x', password: 'y' }, { grant_type: 'authorization_code' }, {}];
    for (const form of forms) {
      const res = await token(form, a.basic);
      expect(res.status, res.text).toBe(400);
      expect(res.body.error).toBe('unsupported_grant_type');
      expect(res.body.access_token).toBeUndefined();
    }
  });

  it('a garbage bearer token → 401', async () => {
    for (const auth of ['Bearer garbage', 'Bearer ', `Bearer ${a.secret_key}`, 'Bearer hat_0000000000000000000000000000000000000000000']) {
      expectOneError(await h.request('GET', CONNECTIONS, { auth }), 401, 'authentication_failed', undefined);
    }
  });

  it("a token of org A sees only org A's resources", async () => {
    const res = await token({ grant_type: 'client_credentials' }, a.basic);
    expect(res.status).toBe(200);
    const bearer = `Bearer ${res.body.access_token}`;
    expect((await h.request('GET', CONNECTIONS, { auth: bearer })).body).toEqual({ data: [aConn] });
    expect((await h.request('GET', SUBSCRIPTIONS, { auth: bearer })).body).toEqual({ data: [] });
    expectOneError(await h.request('GET', `${CONNECTIONS}/${bConn.id}`, { auth: bearer }), 404, 'not_found', undefined);
    expectOneError(await h.request('DELETE', `${CONNECTIONS}/${bConn.id}`, { auth: bearer }), 404, 'not_found', undefined);
    const sub = await h.request('POST', SUBSCRIPTIONS, {
      auth: bearer,
      body: { connection_id: bConn.id, event_type: 'parcels.event.created' },
    });
    expectOneError(sub, 400, 'invalid', '/data/connection_id');
    // B's token sees B's, and B's connection is still there.
    const bToken = await token({ grant_type: 'client_credentials' }, b.basic);
    expect(bToken.body.access_token).not.toBe(res.body.access_token);
    expect((await h.request('GET', CONNECTIONS, { auth: `Bearer ${bToken.body.access_token}` })).body).toEqual({ data: [bConn] });
  });
});
