/**
 * Operator authentication: HERALD_ADMIN_TOKEN (≥ 32 characters) enables /admin/v1; without
 * it every /admin path is a 404. A wrong or missing token is a JSON:API 401
 * `authentication_failed`; organization credentials never open the admin API, and the admin
 * token never opens /api/v3 or /v1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { expectOneError } from '../api/helpers.js';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { ADMIN, ORGS, admin, mintToken, newAdminToken } from './helpers.js';

const ADMIN_PATHS: Array<[string, string]> = [
  ['GET', ORGS],
  ['POST', ORGS],
  ['GET', `${ORGS}/1`],
  ['PATCH', `${ORGS}/1`],
  ['DELETE', `${ORGS}/1`],
  ['GET', `${ORGS}/1/keys`],
  ['POST', `${ORGS}/1/keys`],
  ['DELETE', `${ORGS}/1/keys/1`],
  ['POST', `${ORGS}/1/events`],
  ['POST', `${ORGS}/1/events/batch`],
  ['GET', `${ADMIN}/stats`],
];

describe('HERALD_ADMIN_TOKEN', () => {
  it('must have at least 32 characters and no whitespace', () => {
    expect(() => loadConfig({ HERALD_ADMIN_TOKEN: 'x'.repeat(31) })).toThrow(/at least 32 characters \(it has 31\)/);
    expect(() => loadConfig({ HERALD_ADMIN_TOKEN: `${'x'.repeat(31)} y` })).toThrow(/whitespace/);
    expect(loadConfig({ HERALD_ADMIN_TOKEN: 'x'.repeat(32) }).adminToken).toBe('x'.repeat(32));
    expect(loadConfig({}).adminToken).toBeUndefined();
  });
});

describe.each(DATABASES)('admin authentication on %s', (kind) => {
  const token = newAdminToken();
  let h: TestHerald;
  let off: TestHerald;
  let org: Credentials;

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_ADMIN_TOKEN: token }, { workers: false });
    off = await startHerald(kind, {}, { workers: false });
    org = await h.createOrg();
  });
  afterAll(async () => {
    await h?.close();
    await off?.close();
  });

  it('answers 404 on every /admin path when no token is configured, whatever the credentials', async () => {
    for (const [method, path] of ADMIN_PATHS) {
      for (const auth of [undefined, `Bearer ${token}`, org.basic]) {
        const res = await off.request(method, path, { auth: auth ?? null, ...(method === 'POST' || method === 'PATCH' ? { body: {} } : {}) });
        expectOneError(res, 404, 'not_found', undefined);
      }
    }
    const doc = await off.request('GET', '/api/v3/openapi.json');
    expect(Object.keys(doc.body.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
  });

  it('answers 401 authentication_failed without a token, with a wrong one, or with a non-bearer scheme', async () => {
    const wrong = [undefined, `Bearer ${token.slice(0, -1)}x`, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, 'Bearer ', `Basic ${token}`, token];
    for (const [method, path] of ADMIN_PATHS) {
      for (const auth of wrong) {
        const res = await h.request(method, path, { auth: auth ?? null, ...(method === 'POST' || method === 'PATCH' ? { body: {} } : {}) });
        expectOneError(res, 401, 'authentication_failed', undefined);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    }
    const missing = await h.request('GET', ORGS);
    expect(missing.body.errors[0].detail).toBe('Authentication credentials were not provided.');
    const bad = await admin(h, 'y'.repeat(43), 'GET', ORGS);
    expect(bad.body.errors[0].detail).toBe('Invalid admin token.');
  });

  it("never accepts an organization's key pair, secret key or access token", async () => {
    const accessToken = await mintToken(h, org);
    for (const auth of [org.basic, `Bearer ${org.secret_key}`, `Bearer ${accessToken}`]) {
      for (const [method, path] of ADMIN_PATHS) {
        const res = await h.request(method, path, { auth, ...(method === 'POST' || method === 'PATCH' ? { body: {} } : {}) });
        expectOneError(res, 401, 'authentication_failed', undefined);
      }
    }
    const sendkit = await h.request('GET', ORGS, { headers: { 'x-api-key': org.secret_key } });
    expect(sendkit.status).toBe(401);
  });

  it('accepts the token, and the token never opens /api/v3 or /v1', async () => {
    const ok = await admin(h, token, 'GET', ORGS);
    expect(ok.status, ok.text).toBe(200);
    const bearer = `Bearer ${token}`;
    const v3 = await h.request('GET', '/api/v3/event-subscriptions/connections', { auth: bearer });
    expectOneError(v3, 401, 'authentication_failed', undefined);
    const v3Basic = await h.request('GET', '/api/v3/event-subscriptions/connections', {
      auth: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
    });
    expectOneError(v3Basic, 401, 'authentication_failed', undefined);
    const v1 = await h.request('GET', '/v1/webhooks', { auth: bearer });
    expect(v1.status).toBe(401);
    const v1Key = await h.request('GET', '/v1/webhooks', { headers: { 'x-api-key': token } });
    expect(v1Key.status).toBe(401);
    expect(v1Key.body).toEqual({ error: 'Unauthorized', message: expect.any(String), code: 401 });
    const oauth = await h.request('POST', '/oauth2/token', {
      auth: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
      raw: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(oauth.status).toBe(401);
  });

  it('answers an unknown admin path 404 and a wrong method 405 (JSON:API)', async () => {
    const unknown = await admin(h, token, 'GET', `${ADMIN}/nothing-here`);
    expectOneError(unknown, 404, 'not_found', undefined);
    const method = await admin(h, token, 'PUT', `${ADMIN}/stats`);
    expectOneError(method, 405, 'invalid', undefined);
    expect(method.headers.get('allow')).toBe('GET');
  });
});
