/**
 * Organizations are sealed from each other: B can neither see nor touch A's connections and
 * subscriptions, and every attempt leaves A's resources exactly as they were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, type Resource, SUBSCRIPTIONS, createConnection, createSubscription, expectOneError } from './helpers.js';

const EVENT = 'parcels.event.created';

describe.each(DATABASES)('organization isolation on %s', (kind) => {
  let h: TestHerald;
  let a: Credentials;
  let b: Credentials;
  let aWebhook: Resource;
  let aKlaviyo: Resource;
  let aSub: Resource;
  let bConn: Resource;
  let bSub: Resource;
  /** A's resources as A read them right after creating them. */
  let aView: { connections: Resource; subscriptions: Resource; webhook: Resource; klaviyo: Resource; sub: Resource };

  const read = async (org: Credentials, path: string) => {
    const res = await h.request('GET', path, { auth: org });
    expect(res.status, `GET ${path}: ${res.text}`).toBe(200);
    return res.body;
  };

  const readAll = async () => ({
    connections: await read(a, CONNECTIONS),
    subscriptions: await read(a, SUBSCRIPTIONS),
    webhook: await read(a, `${CONNECTIONS}/${aWebhook.id}`),
    klaviyo: await read(a, `${CONNECTIONS}/${aKlaviyo.id}`),
    sub: await read(a, `${SUBSCRIPTIONS}/${aSub.id}`),
  });

  beforeAll(async () => {
    h = await startHerald(kind);
    a = await h.createOrg('org-a');
    b = await h.createOrg('org-b');
    expect(a.organization_id).not.toBe(b.organization_id);
    aWebhook = await createConnection(h, a, {
      type: 'webhook',
      configuration: { url: 'https://a.example.com/hook', auth_type: 'bearer', auth_config: { token: 'a-token' } },
    });
    aKlaviyo = await createConnection(h, a, { type: 'klaviyo', configuration: {} });
    aSub = await createSubscription(h, a, { connection_id: aWebhook.id, event_type: EVENT });
    bConn = await createConnection(h, b, { type: 'webhook', configuration: { url: 'https://b.example.com/hook' } });
    bSub = await createSubscription(h, b, { connection_id: bConn.id, event_type: EVENT });
    aView = await readAll();
    expect(aView.connections.data).toHaveLength(2);
    expect(aView.subscriptions.data).toHaveLength(1);
  });
  afterAll(() => h.close());

  it("B gets 404 on GET, PATCH and DELETE of A's connections", async () => {
    for (const conn of [aWebhook, aKlaviyo]) {
      const path = `${CONNECTIONS}/${conn.id}`;
      expectOneError(await h.request('GET', path, { auth: b }), 404, 'not_found', undefined);
      expectOneError(
        await h.request('PATCH', path, { auth: b, body: { configuration: { url: 'https://b.example.com/stolen' } } }),
        404,
        'not_found',
        undefined,
      );
      expectOneError(await h.request('PATCH', path, { auth: b, body: {} }), 404, 'not_found', undefined);
      expectOneError(await h.request('DELETE', path, { auth: b }), 404, 'not_found', undefined);
    }
  });

  it("B gets 404 on GET, PATCH and DELETE of A's subscription", async () => {
    const path = `${SUBSCRIPTIONS}/${aSub.id}`;
    expectOneError(await h.request('GET', path, { auth: b }), 404, 'not_found', undefined);
    expectOneError(await h.request('PATCH', path, { auth: b, body: { is_active: false } }), 404, 'not_found', undefined);
    expectOneError(
      await h.request('PATCH', path, { auth: b, body: { connection_id: bConn.id } }),
      404,
      'not_found',
      undefined,
    );
    expectOneError(await h.request('DELETE', path, { auth: b }), 404, 'not_found', undefined);
  });

  it('a missing id answers exactly like one of another organization', async () => {
    const theirs = await h.request('GET', `${CONNECTIONS}/${aWebhook.id}`, { auth: b });
    const nobody = await h.request('GET', `${CONNECTIONS}/987654321`, { auth: b });
    expect(theirs.status).toBe(nobody.status);
    expect(theirs.body).toEqual(nobody.body);
  });

  it("B's lists hold only B's resources, in every variant", async () => {
    const bConnectionsOnly = { data: [bConn] };
    const bSubscriptionsOnly = { data: [bSub] };
    expect(await read(b, CONNECTIONS)).toEqual(bConnectionsOnly);
    expect(await read(b, `${CONNECTIONS}?connection_type=webhook`)).toEqual(bConnectionsOnly);
    expect(await read(b, `${CONNECTIONS}?connection_type=klaviyo`)).toEqual({ data: [] });
    expect(await read(b, `${CONNECTIONS}/type/webhook`)).toEqual(bConnectionsOnly);
    expect(await read(b, `${CONNECTIONS}/type/klaviyo`)).toEqual({ data: [] });
    expect(await read(b, SUBSCRIPTIONS)).toEqual(bSubscriptionsOnly);
    expect(await read(b, `${SUBSCRIPTIONS}?event_type=${EVENT}`)).toEqual(bSubscriptionsOnly);
    expect(await read(b, `${SUBSCRIPTIONS}?is_active=true`)).toEqual(bSubscriptionsOnly);
    expect(await read(b, `${SUBSCRIPTIONS}?is_active=false`)).toEqual({ data: [] });
    expect(await read(b, `${SUBSCRIPTIONS}/event/${EVENT}`)).toEqual(bSubscriptionsOnly);
    // And A's see only A's (the same variants, the other way round).
    expect((await read(a, `${CONNECTIONS}/type/webhook`)).data.map((c: Resource) => c.id)).toEqual([aWebhook.id]);
    expect((await read(a, `${CONNECTIONS}/type/klaviyo`)).data.map((c: Resource) => c.id)).toEqual([aKlaviyo.id]);
    expect((await read(a, `${SUBSCRIPTIONS}/event/${EVENT}`)).data.map((s: Resource) => s.id)).toEqual([aSub.id]);
  });

  it("B cannot subscribe to A's connection: 400 at /data/connection_id, as for a missing one", async () => {
    for (const conn of [aWebhook, aKlaviyo]) {
      const res = await h.request('POST', SUBSCRIPTIONS, { auth: b, body: { connection_id: conn.id, event_type: EVENT } });
      expectOneError(res, 400, 'invalid', '/data/connection_id');
      const missing = await h.request('POST', SUBSCRIPTIONS, { auth: b, body: { connection_id: 987654321, event_type: EVENT } });
      expectOneError(missing, 400, 'invalid', '/data/connection_id');
      // Same answer apart from the id it names.
      expect(res.body.errors[0].detail.replace(String(conn.id), '<id>')).toBe(
        missing.body.errors[0].detail.replace('987654321', '<id>'),
      );
    }
    expect(await read(b, SUBSCRIPTIONS)).toEqual({ data: [bSub] });
  });

  it("B cannot move its subscription onto A's connection", async () => {
    const path = `${SUBSCRIPTIONS}/${bSub.id}`;
    for (const conn of [aWebhook, aKlaviyo]) {
      const res = await h.request('PATCH', path, { auth: b, body: { connection_id: conn.id } });
      expectOneError(res, 400, 'invalid', '/data/connection_id');
    }
    expect(await read(b, path)).toEqual({ data: bSub });
  });

  it('B cannot reach A with A\'s public key and B\'s secret, nor B\'s public key and A\'s secret', async () => {
    for (const [pk, sk] of [
      [a.public_key, b.secret_key],
      [b.public_key, a.secret_key],
    ]) {
      const auth = `Basic ${Buffer.from(`${pk}:${sk}`).toString('base64')}`;
      expectOneError(await h.request('GET', CONNECTIONS, { auth }), 401, 'authentication_failed', undefined);
    }
  });

  it("after all of B's attempts, A's resources are unchanged", async () => {
    expect(await readAll()).toEqual(aView);
    expect(aView.webhook).toEqual({ data: aWebhook });
    expect(aView.klaviyo).toEqual({ data: aKlaviyo });
    expect(aView.sub).toEqual({ data: aSub });
    expect(aView.connections).toEqual({ data: [aWebhook, aKlaviyo] });
    expect(aView.subscriptions).toEqual({ data: [aSub] });
  });
});
