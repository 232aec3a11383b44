import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { ATTEMPTS, DELIVERIES, ES, createHook, listAll, publish, sleep, waitForStatus, waitUntil } from './helpers.js';

const BROADCAST = `${ES}/broadcast/test`;

describe.each(DATABASES)('network guard on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  let org: Credentials;

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms', HERALD_ALLOW_PRIVATE_NETWORKS: 'false' });
    org = await h.createOrg();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  const deliverTo = async (url: string) => {
    const { subscription } = await createHook(h, org, { url, retry_attempts: 3 });
    await publish(h, org, parcelEvent());
    const d = await waitUntil('the delivery row', async () => (await listAll(h, org, DELIVERIES, { subscription_id: subscription.id }))[0]);
    const failed = await waitForStatus(h, org, d.id, 'failed');
    // Refused for good: no retries of a blocked address.
    expect(failed.attempt_count).toBe(1);
    expect(failed.attempts).toHaveLength(1);
    const [attempt] = failed.attempts;
    expect(attempt.response_status).toBeNull();
    expect(attempt.url).toBe(url);
    return { subscription, delivery: failed, attempt };
  };

  it('refuses a delivery to 127.0.0.1 and records why', async () => {
    const { delivery, attempt } = await deliverTo(receiver.url);
    expect(attempt.error).toMatch(/127\.0\.0\.1/);
    expect(attempt.error).toMatch(/loopback/i);
    expect(delivery.last_error).toMatch(/loopback/i);
    await sleep(300);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a delivery to localhost after resolving it', async () => {
    const { attempt } = await deliverTo(`http://localhost:${receiver.port}/hook`);
    expect(attempt.error).toMatch(/localhost/);
    expect(attempt.error).toMatch(/loopback/i);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a broadcast test to loopback, private and metadata addresses', async () => {
    for (const [url, word] of [
      [receiver.url, /loopback/i],
      [`http://localhost:${receiver.port}/hook`, /loopback/i],
      [`http://[::1]:${receiver.port}/hook`, /loopback/i],
      [`http://[::ffff:127.0.0.1]:${receiver.port}/hook`, /loopback/i],
      [`http://0.0.0.0:${receiver.port}/hook`, /unspecified/i],
      ['http://10.1.2.3/hook', /private/i],
      ['http://169.254.169.254/latest/meta-data', /linkLocal|link-local/i],
    ] as const) {
      const { subscription } = await createHook(h, org, { url });
      const res = await h.request('POST', `${BROADCAST}/${subscription.id}`, { auth: org });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.success, url).toBe(false);
      expect(res.body.data.status_code, url).toBe(0);
      expect(res.body.data.response_body, url).toMatch(word);
      const attempts = await listAll(h, org, ATTEMPTS, { is_test: 'true', subscription_id: subscription.id });
      expect(attempts).toHaveLength(1);
      expect(attempts[0].error).toMatch(word);
    }
    expect(receiver.received).toHaveLength(0);
  });
});
