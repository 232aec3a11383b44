import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parcelEvent } from '../support/events.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import { type Credentials, DATABASES, type TestHerald } from '../support/herald.js';
import { CONNECTIONS, authorize, klaviyoConnection, startKlaviyoHerald, waitUntil } from './harness.js';

const PROFILE = { email: 'jane@example.com' };

describe.each(DATABASES)('Klaviyo tokens on %s', (kind) => {
  let fake: FakeKlaviyo;
  let h: TestHerald;
  let org: Credentials;

  beforeAll(async () => {
    fake = await startFakeKlaviyo();
    h = await startKlaviyoHerald(kind, fake);
  });
  // Each test its own organization: its events reach only its own connection.
  beforeEach(async () => {
    org = await h.createOrg();
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const publish = (parcelId: number) =>
    h.request('POST', '/api/v3/event-subscriptions/events', { auth: org, body: { ...parcelEvent({ parcelId }), profile: PROFILE } });
  const deliveries = async (subscriptionId: number) =>
    (await h.request('GET', `/api/v3/event-subscriptions/deliveries?subscription_id=${subscriptionId}`, { auth: org })).body.data;
  const settled = async (subscriptionId: number, count: number) => {
    let rows: any[] = [];
    await waitUntil(async () => {
      rows = await deliveries(subscriptionId);
      return rows.length === count && rows.every((d) => d.status !== 'pending');
    }, 20_000, `${count} settled deliveries`);
    return rows;
  };

  it('refreshes before expiry, once for many deliveries at the same moment', async () => {
    fake.accessTtlSeconds = 2;
    const { connectionId, subscriptionId } = await klaviyoConnection(h, org);
    await authorize(h, org, connectionId);
    fake.accessTtlSeconds = 3600;
    // Within the last quarter of a short-lived token Herald refreshes before sending.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const { refreshCalls, unauthorized } = fake.stats;
    const before = fake.events.length;
    const batch = Array.from({ length: 10 }, (_, i) => ({ ...parcelEvent({ parcelId: 9000 + i }), profile: PROFILE }));
    const res = await h.request('POST', '/api/v3/event-subscriptions/events/batch', { auth: org, body: { events: batch } });
    expect(res.status, res.text).toBe(202);
    await fake.waitForEvents(before + 10);
    const rows = await settled(subscriptionId, 10);
    expect(rows.every((d) => d.status === 'succeeded' && d.attempt_count === 1)).toBe(true);
    expect(fake.stats.refreshCalls).toBe(refreshCalls + 1);
    expect(fake.stats.unauthorized).toBe(unauthorized);
    expect(new Set(fake.events.slice(before).map((e) => e.accessToken)).size).toBe(1);
  });

  it('marks the connection authorization_failed when the refresh token is refused, and recovers after re-authorizing', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const { connectionId, subscriptionId } = await klaviyoConnection(h, org);
    await authorize(h, org, connectionId);
    // The user removes the app in Klaviyo: access and refresh tokens stop working.
    fake.revokeAllGrants();
    const { invalidGrants } = fake.stats;
    await publish(1);
    const [first] = await settled(subscriptionId, 1);
    expect(first).toMatchObject({ status: 'failed', attempt_count: 1 });
    expect(first.last_error).toMatch(/invalid_grant/);
    expect(fake.stats.invalidGrants).toBe(invalidGrants + 1);

    const conn = (await h.request('GET', `${CONNECTIONS}/${connectionId}`, { auth: org })).body.data;
    expect(conn.status).toBe('authorization_failed');
    expect(conn.status_reason).toMatch(/refused to refresh.*invalid_grant.*authorize the connection again/);

    // Further events fail at once with that reason, without asking Klaviyo anything.
    const { eventRequests, refreshCalls } = fake.stats;
    await publish(2);
    const rows = await settled(subscriptionId, 2);
    expect(rows[0]).toMatchObject({ status: 'failed', attempt_count: 1, last_error: conn.status_reason });
    expect(fake.stats.eventRequests).toBe(eventRequests);
    expect(fake.stats.refreshCalls).toBe(refreshCalls);

    await authorize(h, org, connectionId);
    const active = (await h.request('GET', `${CONNECTIONS}/${connectionId}`, { auth: org })).body.data;
    expect(active.status).toBe('active');
    expect(active.status_reason).toBeUndefined();

    const before = fake.events.length;
    const recover = await h.request('POST', `/api/v3/event-subscriptions/subscriptions/${subscriptionId}/recover`, {
      auth: org,
      body: { since },
    });
    expect(recover.status, recover.text).toBe(202);
    expect(recover.body.data.requeued).toBe(2);
    const replayed = (await fake.waitForEvents(before + 2)).slice(before);
    expect(replayed.map((e) => e.body.data.attributes.properties.parcel_id).sort()).toEqual([1, 2]);
    const done = await settled(subscriptionId, 2);
    expect(done.every((d) => d.status === 'succeeded')).toBe(true);
    expect(fake.stats.invalidGrants).toBe(invalidGrants + 1);
  });
});
