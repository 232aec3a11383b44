import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import {
  DELIVERIES,
  SUBSCRIPTIONS,
  createHook,
  getDelivery,
  listAll,
  publish,
  sleep,
  subscribe,
  waitForStatus,
  waitUntil,
} from './helpers.js';

describe.each(DATABASES)('status handling on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  let elsewhere: Receiver;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;
  const at = (path: string) => receiver.received.filter((r) => r.path === `/${path}`);
  const firstDelivery = async (org: any, subscriptionId: number) =>
    waitUntil('the delivery row', async () => (await listAll(h, org, DELIVERIES, { subscription_id: subscriptionId }))[0]);

  beforeAll(async () => {
    // The schedule alone would retry after 100 ms.
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms' });
    receiver = await startReceiver();
    elsewhere = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await elsewhere?.close();
    await h?.close();
  });

  it('honours Retry-After on 429 and 503 over the shorter schedule', async () => {
    const org = await h.createOrg();
    const tries = new Map<string, number>();
    receiver.respond((req, res) => {
      const n = (tries.get(req.path) ?? 0) + 1;
      tries.set(req.path, n);
      if (n === 1 && req.path === '/busy-429') res.writeHead(429, { 'retry-after': '2' }).end('slow down');
      else if (n === 1 && req.path === '/busy-503') res.writeHead(503, { 'retry-after': '2' }).end('maintenance');
      else void ok(req, res);
    });
    const a = await createHook(h, org, { url: url('busy-429') });
    const b = await createHook(h, org, { url: url('busy-503') });
    await publish(h, org, parcelEvent({ parcelId: 801 }));
    for (const [path, hook] of [
      ['busy-429', a],
      ['busy-503', b],
    ] as const) {
      const d = await firstDelivery(org, hook.subscription.id);
      const done = await waitForStatus(h, org, d.id, 'succeeded', 15_000);
      const [first, second] = at(path);
      expect(at(path)).toHaveLength(2);
      const gap = second!.at - first!.at;
      expect(gap, `${path}: retried after ${gap} ms`).toBeGreaterThanOrEqual(1800);
      expect(done.attempts.map((x: any) => x.response_status)).toEqual([path === 'busy-429' ? 429 : 503, 200]);
    }
  });

  it('stops at 410 Gone: one attempt, delivery failed, the connection’s subscriptions deactivated', async () => {
    const org = await h.createOrg();
    receiver.respond((req, res) => {
      if (req.path === '/gone') res.writeHead(410).end('gone for good');
      else void ok(req, res);
    });
    const { connection, subscription } = await createHook(h, org, { url: url('gone'), retry_attempts: 5 });
    const sibling = await subscribe(h, org, connection.id, 'email.sent');
    const healthy = await createHook(h, org, { url: url('still-here') });
    await publish(h, org, parcelEvent({ parcelId: 802 }));
    const d = await firstDelivery(org, subscription.id);
    const failed = await waitForStatus(h, org, d.id, 'failed');
    expect(failed.attempt_count).toBe(1);
    expect(failed.last_status_code).toBe(410);
    expect(failed.last_error).toMatch(/410/);
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0].response_status).toBe(410);
    expect(failed.attempts[0].response_body).toBe('gone for good');
    await sleep(500);
    expect(at('gone')).toHaveLength(1);

    for (const id of [subscription.id, sibling.id]) {
      const s = await h.request('GET', `${SUBSCRIPTIONS}/${id}`, { auth: org });
      expect(s.status).toBe(200);
      expect(s.body.data.is_active, `subscription ${id}`).toBe(false);
      expect(typeof s.body.data.status_reason).toBe('string');
      expect(s.body.data.status_reason).toMatch(/410/);
    }
    // Other connections are untouched; new events no longer fan out to the deactivated one.
    const other = await h.request('GET', `${SUBSCRIPTIONS}/${healthy.subscription.id}`, { auth: org });
    expect(other.body.data.is_active).toBe(true);
    const next = await publish(h, org, parcelEvent({ parcelId: 803 }));
    expect(next.deliveries).toBe(1);
  });

  it('does not follow redirects: a 3xx is a failure and the target gets nothing', async () => {
    const org = await h.createOrg();
    receiver.respond((req, res) => {
      if (req.path === '/moved-307') res.writeHead(307, { location: elsewhere.url }).end();
      else if (req.path === '/moved-302') res.writeHead(302, { location: elsewhere.url }).end();
      else void ok(req, res);
    });
    const a = await createHook(h, org, { url: url('moved-307'), retry_attempts: 1 });
    const b = await createHook(h, org, { url: url('moved-302'), retry_attempts: 1 });
    await publish(h, org, parcelEvent({ parcelId: 804 }));
    for (const [hook, status] of [
      [a, 307],
      [b, 302],
    ] as const) {
      const d = await firstDelivery(org, hook.subscription.id);
      const failed = await waitForStatus(h, org, d.id, 'failed');
      expect(failed.attempt_count).toBe(2);
      expect(failed.attempts.map((x: any) => x.response_status)).toEqual([status, status]);
      expect(failed.last_error).toMatch(new RegExp(String(status)));
    }
    expect(at('moved-307')).toHaveLength(2);
    expect(at('moved-302')).toHaveLength(2);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('counts any 2xx as success, and retries other 4xx without deactivating anything', async () => {
    const org = await h.createOrg();
    receiver.respond((req, res) => {
      const code = Number(req.path.slice('/status-'.length));
      if (code === 204) res.writeHead(204).end();
      else res.writeHead(code).end(`status ${code}`);
    });
    const hooks = new Map<number, Awaited<ReturnType<typeof createHook>>>();
    for (const code of [201, 202, 204, 404]) hooks.set(code, await createHook(h, org, { url: url(`status-${code}`), retry_attempts: 1 }));
    await publish(h, org, parcelEvent({ parcelId: 806 }));
    for (const code of [201, 202, 204]) {
      const d = await firstDelivery(org, hooks.get(code)!.subscription.id);
      const done = await waitForStatus(h, org, d.id, 'succeeded');
      expect(done.attempt_count, String(code)).toBe(1);
      expect(done.last_status_code).toBe(code);
    }
    const d404 = await firstDelivery(org, hooks.get(404)!.subscription.id);
    const failed = await waitForStatus(h, org, d404.id, 'failed');
    expect(failed.attempt_count).toBe(2);
    expect(failed.attempts.map((x: any) => x.response_status)).toEqual([404, 404]);
    const sub = await h.request('GET', `${SUBSCRIPTIONS}/${hooks.get(404)!.subscription.id}`, { auth: org });
    expect(sub.body.data.is_active).toBe(true);
  });

  it('keeps at most HERALD_RESPONSE_BODY_BYTES (8 KiB) of a response body in the attempt log, cut at a character', async () => {
    const org = await h.createOrg();
    // 8 KiB minus one byte of ASCII, then 3-byte characters: the limit falls inside one.
    const big = `${'a'.repeat(8 * 1024 - 1)}${'€'.repeat(20_000)}`;
    receiver.respond((req, res) => {
      if (req.path === '/big') res.writeHead(500, { 'content-type': 'text/plain' }).end(big);
      else void ok(req, res);
    });
    const { subscription } = await createHook(h, org, { url: url('big'), retry_attempts: 0 });
    await publish(h, org, parcelEvent({ parcelId: 807 }));
    const d = await firstDelivery(org, subscription.id);
    const failed = await waitForStatus(h, org, d.id, 'failed');
    const body = failed.attempts[0].response_body as string;
    expect(failed.attempts[0].response_status).toBe(500);
    // Kept up to the limit, not dropped, and no character cut in half.
    expect(body).toBe('a'.repeat(8 * 1024 - 1));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(8 * 1024);
    expect(big.startsWith(body)).toBe(true);
  });

  it('records a timeout as a failed attempt when the endpoint never answers within timeout_ms', async () => {
    const org = await h.createOrg();
    receiver.respond((req, res) => {
      if (req.path === '/silent') return; // never answers
      ok(req, res);
    });
    const { subscription } = await createHook(h, org, { url: url('silent'), timeout_ms: 1000, retry_attempts: 0 });
    await publish(h, org, parcelEvent({ parcelId: 805 }));
    const d = await firstDelivery(org, subscription.id);
    const failed = await waitForStatus(h, org, d.id, 'failed', 10_000);
    expect(at('silent')).toHaveLength(1);
    expect(failed.attempt_count).toBe(1);
    expect(failed.last_status_code).toBeNull();
    expect(failed.last_error).toMatch(/time(d)?[ -]?out/i);
    const [attempt] = failed.attempts;
    expect(attempt.response_status).toBeNull();
    expect(attempt.error).toMatch(/time(d)?[ -]?out/i);
    expect(attempt.duration_ms).toBeGreaterThanOrEqual(900);
    expect(attempt.duration_ms).toBeLessThan(5000);
    expect((await getDelivery(h, org, d.id)).status).toBe('failed');
  });
});
