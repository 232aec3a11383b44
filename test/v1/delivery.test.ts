import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, type Responder, startReceiver } from '../support/receiver.js';
import { DELIVERIES, ISO_MILLIS, WEBHOOKS, createWebhook, eventually, publish, sleep, v1 } from './helpers.js';

const failing: Responder = (_req, res) => {
  res.writeHead(500, { 'content-type': 'text/plain' });
  res.end('down');
};

const slow: Responder = async (_req, res) => {
  await sleep(1500);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('late');
};

const sign = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

describe.each(DATABASES)('/v1 webhook deliveries on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  const receivers: Receiver[] = [];
  const receiver = async (responder?: Responder) => {
    const r = await startReceiver(responder);
    receivers.push(r);
    return r;
  };
  const deliveriesOf = async (webhookId: string) => {
    const connections = await h.request('GET', '/api/v3/event-subscriptions/connections', { auth: org });
    const webhook = (await v1(h, org, 'GET', `${WEBHOOKS}/${webhookId}`)).body.data;
    const connection = connections.body.data.find((c: any) => c.configuration.url === webhook.url);
    return (await h.request('GET', `${DELIVERIES}?connection_id=${connection.id}`, { auth: org })).body.data;
  };

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms' });
    org = await h.createOrg();
  });
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });
  afterAll(async () => {
    await h.close();
  });

  it('delivers a published event signed with the secret, counts it in stats, and a test does not count', async () => {
    const r = await receiver();
    const webhook = await createWebhook(h, org, { url: r.url, events: ['email.replied', 'email.positive_reply'] });
    const data = { lead_id: 'lead_1', reply: 'Sounds good, call me on Monday.' };
    await publish(h, org, 'email.replied', data);
    const [got] = await r.waitFor(1);
    expect(JSON.parse(got!.body)).toEqual({ event_type: 'email.replied', data });
    expect(got!.headers['x-webhook-event']).toBe('email.replied');
    expect(got!.headers['x-webhook-signature']).toBe(sign(webhook.secret, got!.body));

    const stats = await eventually(
      async () => (await v1(h, org, 'GET', `${WEBHOOKS}/${webhook._id}`)).body.data.stats,
      (s) => s.totalDelivered === 1,
    );
    expect(stats.totalDelivered).toBe(1);
    expect(stats.totalFailed).toBe(0);
    expect(stats.lastDeliveredAt).toMatch(ISO_MILLIS);

    const test = await v1(h, org, 'POST', `${WEBHOOKS}/${webhook._id}/test`);
    expect(test.status, test.text).toBe(200);
    expect(test.body).toEqual({ success: true, data: { statusCode: 200, delivered: true } });
    const [, sample] = await r.waitFor(2);
    expect(sample!.headers['x-webhook-event']).toBe('test');
    expect(sample!.headers['x-webhook-signature']).toBe(sign(webhook.secret, sample!.body));
    // A sample of the first event type.
    expect(JSON.parse(sample!.body).event_type).toBe('email.replied');
    await sleep(300);
    expect((await v1(h, org, 'GET', `${WEBHOOKS}/${webhook._id}`)).body.data.stats).toEqual(stats);
  });

  it('signs with a secret changed by PATCH', async () => {
    const r = await receiver();
    const webhook = await createWebhook(h, org, { url: r.url, events: ['email.bounced'] });
    const secret = 'rotated-secret-for-this-test-0001';
    expect((await v1(h, org, 'PATCH', `${WEBHOOKS}/${webhook._id}`, { secret })).status).toBe(200);
    await publish(h, org, 'email.bounced', { email: 'a@example.com' });
    const [got] = await r.waitFor(1);
    expect(got!.headers['x-webhook-signature']).toBe(sign(secret, got!.body));
  });

  it('answers the test endpoint with the failure when the endpoint fails', async () => {
    const r = await receiver(failing);
    const webhook = await createWebhook(h, org, { url: r.url, events: ['lead.updated', 'email.sent'] });
    // As SendKit's samples send it: a JSON content type and no body.
    const test = await h.request('POST', `${WEBHOOKS}/${webhook._id}/test`, {
      raw: '',
      headers: { 'x-api-key': org.secret_key, 'content-type': 'application/json' },
    });
    expect(test.status, test.text).toBe(200);
    expect(test.body).toEqual({ success: true, data: { statusCode: 500, delivered: false } });
    const [sample] = await r.waitFor(1);
    expect(JSON.parse(sample!.body).event_type).toBe('lead.updated');
    // Tests are not retried.
    await sleep(400);
    expect(r.received).toHaveLength(1);
  });

  it('stops delivering while inactive and resumes when active again', async () => {
    const r = await receiver();
    const webhook = await createWebhook(h, org, { url: r.url, events: ['email.clicked'] });
    const paused = await v1(h, org, 'PATCH', `${WEBHOOKS}/${webhook._id}`, { status: 'inactive' });
    expect(paused.body.data.status).toBe('inactive');
    expect((await publish(h, org, 'email.clicked', { n: 1 })).deliveries).toBe(0);
    await sleep(500);
    expect(r.received).toHaveLength(0);

    const resumed = await v1(h, org, 'PATCH', `${WEBHOOKS}/${webhook._id}`, { status: 'active' });
    expect(resumed.body.data.status).toBe('active');
    expect((await publish(h, org, 'email.clicked', { n: 2 })).deliveries).toBe(1);
    const [got] = await r.waitFor(1);
    expect(JSON.parse(got!.body).data).toEqual({ n: 2 });
  });

  it('makes one attempt only with retryAttempts 0, and retries otherwise', async () => {
    const once = await receiver(failing);
    const twice = await receiver(failing);
    const none = await createWebhook(h, org, { url: once.url, events: ['email.unsubscribed'], retryAttempts: 0 });
    const one = await createWebhook(h, org, { url: twice.url, events: ['email.unsubscribed'], retryAttempts: 1 });
    await publish(h, org, 'email.unsubscribed', { email: 'b@example.com' });
    await once.waitFor(1);
    await twice.waitFor(2);
    await sleep(800); // several retry periods of 100 ms
    expect(once.received).toHaveLength(1);
    expect(twice.received).toHaveLength(2);

    const [delivery] = await eventually(() => deliveriesOf(none._id), (d: any[]) => d[0]?.status === 'failed');
    expect(delivery).toMatchObject({ status: 'failed', attempt_count: 1, last_status_code: 500 });
    const stats = await eventually(
      async () => (await v1(h, org, 'GET', `${WEBHOOKS}/${one._id}`)).body.data.stats,
      (s) => s.totalFailed === 1,
    );
    expect(stats).toEqual({ totalDelivered: 0, totalFailed: 1, lastDeliveredAt: null });
  });

  it('gives up an attempt after timeoutMs', async () => {
    const r = await receiver(slow);
    const webhook = await createWebhook(h, org, {
      url: r.url,
      events: ['email.positive_reply'],
      retryAttempts: 0,
      timeoutMs: 1000,
    });
    await publish(h, org, 'email.positive_reply', { lead_id: 'lead_2' });
    await r.waitFor(1);
    const [delivery] = await eventually(() => deliveriesOf(webhook._id), (d: any[]) => d[0]?.status === 'failed');
    expect(delivery).toMatchObject({ status: 'failed', attempt_count: 1, last_status_code: null });
    expect(delivery.last_error).toMatch(/timed out after 1000 ms/);

    // The test endpoint honours it too, and has no status code to report.
    const test = await v1(h, org, 'POST', `${WEBHOOKS}/${webhook._id}/test`);
    expect(test.body).toEqual({ success: true, data: { statusCode: null, delivered: false } });
  });
});
