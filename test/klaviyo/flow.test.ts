import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KLAVIYO_REVISION, KLAVIYO_SCOPES } from '../../src/connectors/klaviyo/settings.js';
import { messageIdFactory } from '../../src/delivery/message-id.js';
import { parcelEvent } from '../support/events.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import { type Credentials, DATABASES, type TestHerald } from '../support/herald.js';
import {
  CONNECTIONS,
  authorize,
  followAuthorization,
  klaviyoConnection,
  startAuthorization,
  startKlaviyoHerald,
  waitUntil,
} from './harness.js';

const PROFILE = { email: 'jane@example.com', phone_number: '+31612345678', external_id: 'cust-42' };

describe.each(DATABASES)('Klaviyo connection on %s', (kind) => {
  let fake: FakeKlaviyo;
  let h: TestHerald;
  let org: Credentials;
  let connectionId: number;
  let subscriptionId: number;
  /** Every API answer of this suite, to prove no token ever appears in one. */
  const answers: string[] = [];
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await h.request(method, path, { auth: org, ...(body !== undefined ? { body } : {}) });
    answers.push(res.text);
    return res;
  };
  const finished = async (eventId: number) => {
    let delivery: any;
    await waitUntil(async () => {
      delivery = (await api('GET', `/api/v3/event-subscriptions/deliveries?event_id=${eventId}`)).body.data[0];
      return delivery !== undefined && delivery.status !== 'pending';
    }, 20_000, `delivery of event ${eventId}`);
    return delivery;
  };

  beforeAll(async () => {
    fake = await startFakeKlaviyo();
    h = await startKlaviyoHerald(kind, fake);
    org = await h.createOrg();
    ({ connectionId, subscriptionId } = await klaviyoConnection(h, org));
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('hands out a PKCE authorization URL bound to the redirect URI', async () => {
    const url = new URL(await startAuthorization(h, org, connectionId));
    const q = url.searchParams;
    expect(`${url.origin}${url.pathname}`).toBe(`${fake.url}/oauth/authorize`);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(fake.clientId);
    expect(q.get('redirect_uri')).toBe(`${h.baseUrl}/api/v3/event-subscriptions/connections/authorization/callback`);
    expect(q.get('scope')?.split(' ')).toEqual([...KLAVIYO_SCOPES]);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('code_challenge_method')).toBe('S256');
    // A second start gives a new state and challenge.
    const again = new URL(await startAuthorization(h, org, connectionId)).searchParams;
    expect(again.get('state')).not.toBe(q.get('state'));
    expect(again.get('code_challenge')).not.toBe(q.get('code_challenge'));
  });

  it('connects the account through the browser flow', async () => {
    const page = await followAuthorization(await startAuthorization(h, org, connectionId));
    expect(page.status).toBe(200);
    expect(page.url.startsWith(`${h.baseUrl}/api/v3/event-subscriptions/connections/authorization/callback?`)).toBe(true);
    expect(page.html).toContain('Your Klaviyo account is connected');
    expect(fake.stats.codeExchanges).toBe(1);
    const conn = await api('GET', `${CONNECTIONS}/${connectionId}`);
    expect(conn.body.data).toMatchObject({ id: connectionId, type: 'klaviyo', status: 'active', configuration: {} });
    expect(conn.body.data.status_reason).toBeUndefined();
  });

  it('delivers the documented Create Event body with the profile, metric and unique_id', async () => {
    const event = parcelEvent({ parcelId: 777 });
    const accepted = await api('POST', '/api/v3/event-subscriptions/events', { ...event, profile: PROFILE });
    expect(accepted.status).toBe(202);
    const [got] = await fake.waitForEvents(1);
    const delivery = await finished(accepted.body.data.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 1, last_status_code: 202 });

    const messageId = messageIdFactory(h.herald.keyring.webhookIdSalt)(delivery.id);
    expect(got!.headers.authorization).toBe(`Bearer ${got!.accessToken}`);
    expect(got!.headers.revision).toBe(KLAVIYO_REVISION);
    expect(got!.headers['content-type']).toBe('application/vnd.api+json');
    expect(got!.body).toEqual({
      data: {
        type: 'event',
        attributes: {
          properties: { ...event.data.event, ...event.data.parcel },
          time: '2026-01-15T10:30:00Z',
          unique_id: messageId,
          metric: { data: { type: 'metric', attributes: { name: 'Parcel In Transit' } } },
          profile: { data: { type: 'profile', attributes: PROFILE } },
        },
      },
    });

    const attempts = await api('GET', `/api/v3/event-subscriptions/attempts?delivery_id=${delivery.id}`);
    const [attempt] = attempts.body.data;
    expect(attempt).toMatchObject({ url: `${fake.url}/api/events`, response_status: 202, error: null });
    expect(attempt.request_headers).toMatchObject({ authorization: '[REDACTED]', revision: KLAVIYO_REVISION });
  });

  it('names the metric after the phase, and other event types after themselves', async () => {
    const before = fake.events.length;
    await api('POST', '/api/v3/event-subscriptions/events', { ...parcelEvent({ phase: 'delivered' }), profile: { email: 'a@example.com' } });
    const other = await api('POST', '/api/v3/event-subscriptions/subscriptions', { connection_id: connectionId, event_type: 'email.positive_reply' });
    expect(other.status, other.text).toBe(201);
    const data = { id: 'e1', message: 'Sounds good' };
    await api('POST', '/api/v3/event-subscriptions/events', { event_type: 'email.positive_reply', data, profile: { external_id: 'x-1' } });
    const events = (await fake.waitForEvents(before + 2)).slice(before).map((e) => e.body.data.attributes);
    const byMetric = new Map(events.map((a) => [a.metric.data.attributes.name, a]));
    expect([...byMetric.keys()].sort()).toEqual(['Email Positive Reply', 'Parcel Delivered']);
    expect(byMetric.get('Email Positive Reply')).toMatchObject({ properties: data, profile: { data: { attributes: { external_id: 'x-1' } } } });
    expect(byMetric.get('Email Positive Reply').time).toBeUndefined();
    await api('DELETE', `/api/v3/event-subscriptions/subscriptions/${other.body.data.id}`);
  });

  it('fails an event without a profile at once, without retries', async () => {
    const requests = fake.stats.eventRequests;
    const accepted = await api('POST', '/api/v3/event-subscriptions/events', parcelEvent());
    const delivery = await finished(accepted.body.data.id);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempt_count).toBe(1);
    expect(delivery.last_error).toMatch(/no profile/);
    expect(fake.stats.eventRequests).toBe(requests);
  });

  it('waits as long as Retry-After says on 429, then delivers with the same unique_id', async () => {
    fake.throttleNext(1, 1);
    const before = fake.events.length;
    const accepted = await api('POST', '/api/v3/event-subscriptions/events', { ...parcelEvent({ parcelId: 429 }), profile: PROFILE });
    const delivery = await finished(accepted.body.data.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 2 });
    const attempts = (await api('GET', `/api/v3/event-subscriptions/attempts?delivery_id=${delivery.id}`)).body.data.reverse();
    expect(attempts.map((a: any) => a.response_status)).toEqual([429, 202]);
    // The retry schedule says 100 ms; Klaviyo's Retry-After (1 s) wins.
    expect(Date.parse(attempts[1].started_at) - Date.parse(attempts[0].started_at)).toBeGreaterThanOrEqual(950);
    const [got] = (await fake.waitForEvents(before + 1)).slice(before);
    expect(got!.body.data.attributes.unique_id).toBe(messageIdFactory(h.herald.keyring.webhookIdSalt)(delivery.id));
  });

  it('refreshes the token on a 401 and retries once within the same attempt', async () => {
    fake.expireAccessTokens();
    const refreshes = fake.stats.refreshCalls;
    const before = fake.events.length;
    const accepted = await api('POST', '/api/v3/event-subscriptions/events', { ...parcelEvent({ parcelId: 401 }), profile: PROFILE });
    const delivery = await finished(accepted.body.data.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 1, last_status_code: 202 });
    expect(fake.stats.refreshCalls).toBe(refreshes + 1);
    expect(fake.stats.invalidGrants).toBe(0);
    const [got] = (await fake.waitForEvents(before + 1)).slice(before);
    expect(fake.events[0]!.accessToken).not.toBe(got!.accessToken);
  });

  it('sends broadcast tests with the test profile, logged with the token redacted', async () => {
    const res = await api('POST', `/api/v3/event-subscriptions/broadcast/test/${subscriptionId}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toMatchObject({ success: true, status_code: 202 });
    const got = fake.events.at(-1)!;
    expect(got.body.data.attributes.profile.data.attributes).toEqual({ email: 'herald-test@example.com' });
    expect(got.body.data.attributes.metric.data.attributes.name).toBe('Parcel In Transit');
    expect(got.body.data.attributes.unique_id).toMatch(/^msg_test_/);
    const log = await api('GET', `/api/v3/event-subscriptions/attempts?is_test=true&subscription_id=${subscriptionId}`);
    expect(log.body.data[0]).toMatchObject({ is_test: true, response_status: 202 });
    expect(log.body.data[0].request_headers.authorization).toBe('[REDACTED]');
  });

  it('never shows a token in an API answer', async () => {
    await api('GET', CONNECTIONS);
    await api('GET', `${CONNECTIONS}/${connectionId}`);
    await api('GET', '/api/v3/event-subscriptions/deliveries');
    await api('GET', '/api/v3/event-subscriptions/attempts');
    expect(fake.issued.length).toBeGreaterThanOrEqual(4);
    const all = answers.join('\n');
    for (const token of [...fake.issued, fake.clientSecret]) expect(all).not.toContain(token);
  });

  it('revokes the tokens at Klaviyo when the connection is deleted, even if that fails', async () => {
    const revocations = fake.stats.revocations;
    const res = await api('DELETE', `${CONNECTIONS}/${connectionId}`);
    expect(res.status).toBe(204);
    expect(fake.stats.revocations).toBe(revocations + 1);
    // The grant is gone at Klaviyo: its last access token no longer works.
    const probe = await fetch(`${fake.url}/api/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.events.at(-1)!.accessToken}`, revision: KLAVIYO_REVISION },
    });
    expect(probe.status).toBe(401);

    const second = await klaviyoConnection(h, org);
    await authorize(h, org, second.connectionId);
    fake.failRevoke = true;
    try {
      const gone = await api('DELETE', `${CONNECTIONS}/${second.connectionId}`);
      expect(gone.status).toBe(204);
      expect((await api('GET', `${CONNECTIONS}/${second.connectionId}`)).status).toBe(404);
    } finally {
      fake.failRevoke = false;
    }
  });
});
