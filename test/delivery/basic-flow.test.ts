import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';

describe.each(DATABASES)('delivery on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms,200ms,400ms' });
    org = await h.createOrg();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('delivers a signed event with every header', async () => {
    const conn = await h.request('POST', '/api/v3/event-subscriptions/connections', {
      auth: org,
      body: {
        type: 'webhook',
        configuration: {
          url: receiver.url,
          auth_type: 'bearer',
          auth_config: { token: 't0ken' },
          extra_headers: { 'X-Custom-Header': 'my-value' },
        },
      },
    });
    expect(conn.status).toBe(201);
    const sub = await h.request('POST', '/api/v3/event-subscriptions/subscriptions', {
      auth: org,
      body: { connection_id: conn.body.data.id, event_type: 'parcels.event.created' },
    });
    expect(sub.status).toBe(201);
    const event = parcelEvent();
    const accepted = await h.request('POST', '/api/v3/event-subscriptions/events', { auth: org, body: event });
    expect(accepted.status).toBe(202);
    expect(accepted.body.data.deliveries).toBe(1);
    const [got] = await receiver.waitFor(1);
    expect(JSON.parse(got!.body)).toEqual(event);
    expect(got!.headers.authorization).toBe('Bearer t0ken');
    expect(got!.headers['x-custom-header']).toBe('my-value');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['user-agent']).toMatch(/^Herald\//);
    const secret = await h.request('GET', `/api/v3/event-subscriptions/connections/${conn.body.data.id}/secret`, { auth: org });
    const wh = new Webhook(secret.body.data.secret);
    expect(() => wh.verify(got!.body, got!.headers as Record<string, string>)).not.toThrow();
  });
});

// An in-memory database lives on one connection: claims and results run inline instead of
// on the queue thread. The same delivery, end to end, with its record.
describe('delivery on an in-memory SQLite database', () => {
  let h: TestHerald;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await startHerald('sqlite', { HERALD_DATABASE_URL: 'sqlite::memory:' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('delivers and records the attempt', async () => {
    const org = await h.createOrg();
    const conn = await h.request('POST', '/api/v3/event-subscriptions/connections', {
      auth: org,
      body: { type: 'webhook', configuration: { url: receiver.url, auth_type: 'none' } },
    });
    await h.request('POST', '/api/v3/event-subscriptions/subscriptions', {
      auth: org,
      body: { connection_id: conn.body.data.id, event_type: 'parcels.event.created' },
    });
    const event = parcelEvent();
    expect((await h.request('POST', '/api/v3/event-subscriptions/events', { auth: org, body: event })).status).toBe(202);
    const [got] = await receiver.waitFor(1);
    expect(JSON.parse(got!.body)).toEqual(event);
    let deliveries: any;
    for (let i = 0; i < 50; i++) {
      deliveries = await h.request('GET', '/api/v3/event-subscriptions/deliveries', { auth: org });
      if (deliveries.body.data[0]?.status === 'succeeded') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(deliveries.body.data).toHaveLength(1);
    expect(deliveries.body.data[0].status).toBe('succeeded');
  });
});
