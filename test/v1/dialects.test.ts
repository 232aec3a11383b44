import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, SUBSCRIPTIONS, WEBHOOKS, createWebhook, v1 } from './helpers.js';

/** One engine, two dialects: a /v1 webhook is a v3 connection plus one subscription per event. */
describe.each(DATABASES)('/v1 webhooks through v3 on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
    org = await h.createOrg();
  });
  afterAll(async () => {
    await h.close();
  });

  const uniqueUrl = () => `https://example.com/hooks/${randomBytes(4).toString('hex')}`;
  const connectionFor = async (url: string) => {
    const list = await h.request('GET', CONNECTIONS, { auth: org });
    return list.body.data.find((c: any) => c.configuration.url === url);
  };
  const subscriptionsOf = async (connectionId: number) => {
    const list = await h.request('GET', SUBSCRIPTIONS, { auth: org });
    return list.body.data.filter((s: any) => s.connection_id === connectionId);
  };
  const getWebhook = async (id: string) => (await v1(h, org, 'GET', `${WEBHOOKS}/${id}`)).body.data;

  it('shows a /v1 webhook as a webhook connection with one subscription per event', async () => {
    const url = uniqueUrl();
    await createWebhook(h, org, { url, events: ['email.replied', 'email.positive_reply'], timeoutMs: 2500 });
    const connection = await connectionFor(url);
    expect(connection).toMatchObject({
      type: 'webhook',
      status: 'active',
      configuration: { url, auth_type: 'none', extra_headers: {}, retry_attempts: 3, timeout_ms: 2500 },
    });
    const subscriptions = await subscriptionsOf(connection.id);
    expect(subscriptions.map((s: any) => [s.event_type, s.is_active])).toEqual([
      ['email.replied', true],
      ['email.positive_reply', true],
    ]);
  });

  it('applies a /v1 PATCH to the connection and its subscriptions, and nothing more', async () => {
    const url = uniqueUrl();
    const created = await createWebhook(h, org, { url, events: ['email.sent', 'email.opened'] });
    const connection = await connectionFor(url);
    const [sent] = await subscriptionsOf(connection.id);

    const renamed = await v1(h, org, 'PATCH', `${WEBHOOKS}/${created._id}`, { name: 'Renamed' });
    expect(renamed.status, renamed.text).toBe(200);
    const { name: _n, updatedAt: _u, ...rest } = renamed.body.data;
    const { name: _n0, updatedAt: _u0, secret: _s0, ...before } = created;
    expect({ ...rest, secret: undefined }).toEqual({ ...before, secret: undefined });
    expect(renamed.body.data.secret).toBe(`${created.secret.slice(0, 4)}...`);
    expect(renamed.body.data.updatedAt > created.updatedAt).toBe(true);

    const patched = await v1(h, org, 'PATCH', `${WEBHOOKS}/${created._id}`, {
      events: ['email.sent', 'email.clicked'],
      retryAttempts: 7,
      url: `${url}/v2`,
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.data).toMatchObject({ events: ['email.sent', 'email.clicked'], retryAttempts: 7, url: `${url}/v2` });
    const v3 = await h.request('GET', `${CONNECTIONS}/${connection.id}`, { auth: org });
    expect(v3.body.data.configuration).toMatchObject({ url: `${url}/v2`, retry_attempts: 7, timeout_ms: 10000 });
    const subscriptions = await subscriptionsOf(connection.id);
    expect(subscriptions.map((s: any) => s.event_type)).toEqual(['email.sent', 'email.clicked']);
    // A kept event keeps its subscription (and so its v3 id and history).
    expect(subscriptions[0].id).toBe(sent.id);

    await v1(h, org, 'PATCH', `${WEBHOOKS}/${created._id}`, { status: 'inactive' });
    expect((await subscriptionsOf(connection.id)).map((s: any) => s.is_active)).toEqual([false, false]);
    // An event added while paused stays paused.
    await v1(h, org, 'PATCH', `${WEBHOOKS}/${created._id}`, { events: ['email.sent', 'email.clicked', 'lead.updated'] });
    expect((await subscriptionsOf(connection.id)).map((s: any) => s.is_active)).toEqual([false, false, false]);
    await v1(h, org, 'PATCH', `${WEBHOOKS}/${created._id}`, { status: 'active' });
    expect((await subscriptionsOf(connection.id)).map((s: any) => s.is_active)).toEqual([true, true, true]);
  });

  it('shows v3 changes through /v1', async () => {
    const url = uniqueUrl();
    const created = await createWebhook(h, org, { url, events: ['email.bounced'] });
    const connection = await connectionFor(url);

    const v3 = await h.request('PATCH', `${CONNECTIONS}/${connection.id}`, {
      auth: org,
      body: { configuration: { url: `${url}/moved`, timeout_ms: 5000 } },
    });
    expect(v3.status, v3.text).toBe(200);
    let webhook = await getWebhook(created._id);
    expect(webhook).toMatchObject({ url: `${url}/moved`, timeoutMs: 5000, retryAttempts: 3, name: 'Hook' });
    expect(webhook.updatedAt > created.updatedAt).toBe(true);

    const added = await h.request('POST', SUBSCRIPTIONS, {
      auth: org,
      body: { connection_id: connection.id, event_type: 'email.opened' },
    });
    expect(added.status, added.text).toBe(201);
    expect((await getWebhook(created._id)).events).toEqual(['email.bounced', 'email.opened']);

    for (const s of await subscriptionsOf(connection.id)) {
      await h.request('PATCH', `${SUBSCRIPTIONS}/${s.id}`, { auth: org, body: { is_active: false } });
    }
    webhook = await getWebhook(created._id);
    expect(webhook.status).toBe('inactive');
  });

  it('deletes on either side', async () => {
    const viaV3 = uniqueUrl();
    const a = await createWebhook(h, org, { url: viaV3 });
    const connection = await connectionFor(viaV3);
    expect((await h.request('DELETE', `${CONNECTIONS}/${connection.id}`, { auth: org })).status).toBe(204);
    expect((await v1(h, org, 'GET', `${WEBHOOKS}/${a._id}`)).status).toBe(404);

    const viaV1 = uniqueUrl();
    const b = await createWebhook(h, org, { url: viaV1 });
    const other = await connectionFor(viaV1);
    const deleted = await v1(h, org, 'DELETE', `${WEBHOOKS}/${b._id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ success: true });
    expect((await h.request('GET', `${CONNECTIONS}/${other.id}`, { auth: org })).status).toBe(404);
    expect(await subscriptionsOf(other.id)).toEqual([]);
    expect((await v1(h, org, 'DELETE', `${WEBHOOKS}/${b._id}`)).status).toBe(404);
    const ids = (await v1(h, org, 'GET', `${WEBHOOKS}?limit=100`)).body.data.map((w: any) => w._id);
    expect(ids).not.toContain(a._id);
    expect(ids).not.toContain(b._id);
  });

  it('leaves v3 connections out of the /v1 list', async () => {
    const fresh = await h.createOrg();
    const made = await h.request('POST', CONNECTIONS, {
      auth: fresh,
      body: { type: 'webhook', configuration: { url: uniqueUrl() } },
    });
    expect(made.status).toBe(201);
    const list = await v1(h, fresh, 'GET', WEBHOOKS);
    expect(list.body).toEqual({ success: true, data: [], pagination: { limit: 25, total: 0, hasMore: false, nextCursor: null } });
  });
});
