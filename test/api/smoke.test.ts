import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';

describe.each(DATABASES)('smoke on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  beforeAll(async () => {
    h = await startHerald(kind);
    org = await h.createOrg();
  });
  afterAll(() => h.close());

  it('creates and reads back a connection', async () => {
    const created = await h.request('POST', '/api/v3/event-subscriptions/connections', {
      auth: org,
      body: { type: 'webhook', configuration: { url: 'https://example.com/hook', auth_type: 'none' } },
    });
    expect(created.status).toBe(201);
    const got = await h.request('GET', `/api/v3/event-subscriptions/connections/${created.body.data.id}`, { auth: org });
    expect(got.body).toEqual(created.body);
  });
});
