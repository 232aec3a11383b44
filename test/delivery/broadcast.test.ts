import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { ATTEMPTS, CONNECTIONS, DELIVERIES, ES, closedPort, createHook, headerRecord, listAll, logged } from './helpers.js';

const BROADCAST = `${ES}/broadcast/test`;

describe.each(DATABASES)('broadcast test on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  let org: Credentials;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;
  const at = (path: string) => receiver.received.filter((r) => r.path === `/${path}`);

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms' });
    org = await h.createOrg();
    receiver = await startReceiver((req, res) => {
      if (req.path === '/fails') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('kaputt: database down');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('answers the endpoint’s status and body for a 200, with the same auth, headers and a valid signature', async () => {
    const { connection, subscription } = await createHook(h, org, {
      url: url('works'),
      auth_type: 'api_key',
      auth_config: { header_name: 'X-Shop-Key', api_key: 'shop-key-1' },
      extra_headers: { 'X-Env': 'staging' },
    });
    const res = await h.request('POST', `${BROADCAST}/${subscription.id}`, { auth: org });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: { success: true, status_code: 200, response_body: '{"received":true}' } });

    expect(at('works')).toHaveLength(1);
    const got = at('works')[0]!;
    expect(got.method).toBe('POST');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['user-agent']).toMatch(/^Herald\/\d+\.\d+\.\d+/);
    expect(got.headers['x-shop-key']).toBe('shop-key-1');
    expect(got.headers['x-env']).toBe('staging');
    const body = JSON.parse(got.body);
    expect(body.event_type).toBe('parcels.event.created');
    expect(body).toEqual(parcelEvent()); // the catalog's sample: the reference InTransit example
    const secret = (await h.request('GET', `${CONNECTIONS}/${connection.id}/secret`, { auth: org })).body.data.secret;
    expect(() => new Webhook(secret).verify(got.body, headerRecord(got))).not.toThrow();

    // Logged as a test attempt, not as a delivery.
    const attempts = await listAll(h, org, ATTEMPTS, { is_test: 'true', subscription_id: subscription.id });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      is_test: true,
      delivery_id: null,
      subscription_id: subscription.id,
      connection_id: connection.id,
      url: url('works'),
      response_status: 200,
      response_body: '{"received":true}',
      error: null,
    });
    expect(logged(attempts[0].request_headers, 'x-shop-key')).toBe('[REDACTED]');
    expect(JSON.stringify(attempts[0])).not.toContain('shop-key-1');
    expect(await listAll(h, org, ATTEMPTS, { is_test: 'false', subscription_id: subscription.id })).toEqual([]);
    expect(await listAll(h, org, DELIVERIES, { subscription_id: subscription.id })).toEqual([]);
  });

  it('uses the subscription’s event type and bearer/basic auth too', async () => {
    const bearer = await createHook(h, org, { url: url('bearer'), auth_type: 'bearer', auth_config: { token: 'btok' } }, 'email.sent');
    const basicConn = await createHook(h, org, { url: url('basic'), auth_type: 'basic', auth_config: { username: 'u', password: 'p' } });
    expect((await h.request('POST', `${BROADCAST}/${bearer.subscription.id}`, { auth: org })).body.data.success).toBe(true);
    expect((await h.request('POST', `${BROADCAST}/${basicConn.subscription.id}`, { auth: org })).body.data.success).toBe(true);
    expect(at('bearer')[0]!.headers.authorization).toBe('Bearer btok');
    expect(JSON.parse(at('bearer')[0]!.body).event_type).toBe('email.sent');
    expect(at('basic')[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('answers 200 with success false, the status and the body when the endpoint fails', async () => {
    const { subscription } = await createHook(h, org, { url: url('fails'), retry_attempts: 5 });
    const res = await h.request('POST', `${BROADCAST}/${subscription.id}`, { auth: org });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: { success: false, status_code: 500, response_body: 'kaputt: database down' } });
    // A test is sent once: no retries.
    await new Promise((r) => setTimeout(r, 400));
    expect(at('fails')).toHaveLength(1);
    const attempts = await listAll(h, org, ATTEMPTS, { is_test: 'true', subscription_id: subscription.id });
    expect(attempts).toHaveLength(1);
    expect(attempts[0].response_status).toBe(500);
    expect(attempts[0].response_body).toBe('kaputt: database down');
  });

  it('answers success false with status_code 0 and the error when nothing listens', async () => {
    const port = await closedPort();
    const { subscription } = await createHook(h, org, { url: `http://127.0.0.1:${port}/nobody` });
    const res = await h.request('POST', `${BROADCAST}/${subscription.id}`, { auth: org });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.success).toBe(false);
    expect(res.body.data.status_code).toBe(0);
    expect(typeof res.body.data.response_body).toBe('string');
    expect(res.body.data.response_body).toMatch(/refused|ECONNREFUSED/i);
    const attempts = await listAll(h, org, ATTEMPTS, { is_test: 'true', subscription_id: subscription.id });
    expect(attempts).toHaveLength(1);
    expect(attempts[0].response_status).toBeNull();
    expect(attempts[0].error).toMatch(/refused|ECONNREFUSED/i);
  });

  it('answers 404 for another organization’s subscription and for one that does not exist', async () => {
    const { subscription } = await createHook(h, org, { url: url('private') });
    const other = await h.createOrg();
    const foreign = await h.request('POST', `${BROADCAST}/${subscription.id}`, { auth: other });
    expect(foreign.status, foreign.text).toBe(404);
    expect(foreign.body.errors[0].code).toBe('not_found');
    expect((await h.request('POST', `${BROADCAST}/99999999`, { auth: org })).status).toBe(404);
    expect(at('private')).toHaveLength(0);
    expect(await listAll(h, other, ATTEMPTS, { is_test: 'true' })).toEqual([]);
  });
});
