import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald } from '../support/herald.js';
import { CONNECTIONS, startKlaviyoHerald } from './harness.js';

describe.each(DATABASES)('starting Klaviyo authorization on %s', (kind) => {
  let h: TestHerald;
  let a: Credentials;
  let b: Credentials;

  beforeAll(async () => {
    // No fake Klaviyo and no HERALD_KLAVIYO_*: an installation that has not set up the app.
    h = await startKlaviyoHerald(kind, undefined, {}, { workers: false });
    a = await h.createOrg();
    b = await h.createOrg();
  });
  afterAll(async () => {
    await h?.close();
  });

  const create = async (org: Credentials, body: unknown) => {
    const res = await h.request('POST', CONNECTIONS, { auth: org, body });
    expect(res.status, res.text).toBe(201);
    return res.body.data.id as number;
  };

  it('creates Klaviyo connections without a client id, and says what to set to authorize them', async () => {
    const id = await create(a, { type: 'klaviyo', configuration: {} });
    const res = await h.request('POST', `${CONNECTIONS}/${id}/authorization`, { auth: a });
    expect(res.status).toBe(503);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ status: '503', code: 'invalid' });
    expect(res.body.errors[0].detail).toContain('HERALD_KLAVIYO_CLIENT_ID');
    expect(res.body.errors[0].detail).toContain('HERALD_KLAVIYO_CLIENT_SECRET');
    expect((await h.request('GET', `${CONNECTIONS}/${id}`, { auth: a })).body.data.status).toBe('pending_authorization');
  });

  it('names only the variable that is missing', async () => {
    const other = await startKlaviyoHerald(kind, undefined, { HERALD_KLAVIYO_CLIENT_ID: 'some-client' }, { workers: false });
    try {
      const org = await other.createOrg();
      const res = await other.request('POST', CONNECTIONS, { auth: org, body: { type: 'klaviyo', configuration: {} } });
      const start = await other.request('POST', `${CONNECTIONS}/${res.body.data.id}/authorization`, { auth: org });
      expect(start.status).toBe(503);
      expect(start.body.errors[0].detail).toContain('HERALD_KLAVIYO_CLIENT_SECRET');
      expect(start.body.errors[0].detail).not.toContain('HERALD_KLAVIYO_CLIENT_ID');
    } finally {
      await other.close();
    }
  });

  it('refuses webhook connections with 400', async () => {
    const id = await create(a, { type: 'webhook', configuration: { url: 'https://example.com/hook' } });
    const res = await h.request('POST', `${CONNECTIONS}/${id}/authorization`, { auth: a });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ status: '400', code: 'invalid' });
    expect(res.body.errors[0].detail).toMatch(/webhook connection has no OAuth2 authorization/);
  });

  it("answers 404 for another organization's connection, a missing one, and 401 without credentials", async () => {
    const id = await create(a, { type: 'klaviyo', configuration: {} });
    const foreign = await h.request('POST', `${CONNECTIONS}/${id}/authorization`, { auth: b });
    expect(foreign.status).toBe(404);
    expect(foreign.body.errors[0].code).toBe('not_found');
    expect((await h.request('POST', `${CONNECTIONS}/999999/authorization`, { auth: a })).status).toBe(404);
    expect((await h.request('POST', `${CONNECTIONS}/${id}/authorization`)).status).toBe(401);
    expect((await h.request('GET', `${CONNECTIONS}/${id}/authorization`, { auth: a })).status).toBe(405);
  });
});
