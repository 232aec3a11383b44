import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import {
  DELIVERIES,
  ES,
  createHook,
  getDelivery,
  listAll,
  logged,
  parcelIdOf,
  publish,
  sleep,
  waitForStatus,
  waitUntil,
} from './helpers.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

describe.each(DATABASES)('retries on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;
  const at = (path: string) => receiver.received.filter((r) => r.path === `/${path}`);
  /** Each path answers from its own script of statuses; the last one repeats. */
  const scripts = new Map<string, number[]>();
  const counts = new Map<string, number>();
  const script = (path: string, statuses: number[]) => {
    scripts.set(`/${path}`, statuses);
    counts.set(`/${path}`, 0);
  };

  beforeAll(async () => {
    // Growing gaps: 200 ms, then 600 ms (±20 % jitter keeps them apart), then 1 s.
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '200ms,600ms,1s' });
    receiver = await startReceiver((req, res) => {
      const statuses = scripts.get(req.path);
      if (!statuses) return ok(req, res);
      const n = counts.get(req.path) ?? 0;
      counts.set(req.path, n + 1);
      const status = statuses[Math.min(n, statuses.length - 1)] as number;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`answer ${n + 1}: ${status}`);
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('retries 500, 500 then succeeds: three attempts with growing gaps, all logged and redacted', async () => {
    const org = await h.createOrg();
    script('flaky', [500, 500, 200]);
    const { subscription, connection } = await createHook(h, org, {
      url: url('flaky'),
      auth_type: 'bearer',
      auth_config: { token: 'super-secret-token-1' },
      extra_headers: { 'X-Visible': 'yes' },
    });
    const event = await publish(h, org, parcelEvent({ parcelId: 501 }));
    const { id } = await waitUntil('the delivery row', async () => (await listAll(h, org, DELIVERIES, { subscription_id: subscription.id }))[0]);
    const done = await waitForStatus(h, org, id, 'succeeded');
    expect(at('flaky')).toHaveLength(3);
    const [a, b, c] = at('flaky').map((r) => r.at) as [number, number, number];
    const gap1 = b - a;
    const gap2 = c - b;
    expect(gap1).toBeGreaterThanOrEqual(150); // 200 ms − 20 % jitter, minus clock granularity
    expect(gap2, `gaps ${gap1} ms then ${gap2} ms`).toBeGreaterThan(gap1);

    expect(done).toMatchObject({
      id,
      event_id: event.id,
      subscription_id: subscription.id,
      connection_id: connection.id,
      status: 'succeeded',
      attempt_count: 3,
      last_status_code: 200,
      last_error: null,
      next_attempt_at: null,
    });
    const attempts = done.attempts as any[];
    expect(attempts.map((x) => x.number)).toEqual([1, 2, 3]);
    expect(attempts.map((x) => x.response_status)).toEqual([500, 500, 200]);
    expect(attempts.map((x) => x.response_body)).toEqual(['answer 1: 500', 'answer 2: 500', 'answer 3: 200']);
    expect(attempts[0].error).toMatch(/500/);
    expect(attempts[2].error).toBeNull();
    for (const x of attempts) {
      expect(x.url).toBe(url('flaky'));
      expect(x.started_at).toMatch(ISO_MS);
      expect(typeof x.duration_ms).toBe('number');
      expect(x.duration_ms).toBeGreaterThanOrEqual(0);
      expect(x.is_test).toBe(false);
      expect(x.delivery_id).toBe(id);
      expect(logged(x.request_headers, 'authorization')).toBe('[REDACTED]');
      expect(logged(x.request_headers, 'x-visible')).toBe('yes');
      expect(logged(x.request_headers, 'webhook-id')).toBe(at('flaky')[0]!.headers['webhook-id']);
    }
    // Attempt started_at follows the receiver's order.
    const starts = attempts.map((x) => Date.parse(x.started_at));
    expect(starts[1]! - starts[0]!).toBeGreaterThan(0);
    expect(starts[2]! - starts[1]!).toBeGreaterThan(starts[1]! - starts[0]!);
    const raw = await h.request('GET', `${DELIVERIES}/${id}`, { auth: org });
    expect(raw.text).not.toContain('super-secret-token-1');
    // The receiver really got the credential.
    expect(at('flaky')[0]!.headers.authorization).toBe('Bearer super-secret-token-1');
  });

  it('redacts basic and api_key credentials in the attempt log', async () => {
    const org = await h.createOrg();
    script('redact-basic', [200]);
    script('redact-key', [200]);
    await createHook(h, org, { url: url('redact-basic'), auth_type: 'basic', auth_config: { username: 'u1', password: 'pw-very-secret' } });
    await createHook(h, org, { url: url('redact-key'), auth_type: 'api_key', auth_config: { header_name: 'X-Secret-Key', api_key: 'api-very-secret' } });
    await publish(h, org, parcelEvent({ parcelId: 502 }));
    const list = await waitUntil('two deliveries succeeded', async () => {
      const l = await listAll(h, org, DELIVERIES);
      return l.length === 2 && l.every((d) => d.status === 'succeeded') ? l : undefined;
    });
    for (const d of list) {
      const res = await h.request('GET', `${DELIVERIES}/${d.id}`, { auth: org });
      expect(res.text).not.toContain('pw-very-secret');
      expect(res.text).not.toContain('api-very-secret');
      expect(res.text).not.toContain(Buffer.from('u1:pw-very-secret').toString('base64'));
      const headers = res.body.data.attempts[0].request_headers;
      if (res.body.data.attempts[0].url.endsWith('redact-basic')) expect(logged(headers, 'authorization')).toBe('[REDACTED]');
      else expect(logged(headers, 'x-secret-key')).toBe('[REDACTED]');
    }
  });

  it('fails after 1 + retry_attempts attempts, and POST …/retry attempts it again', async () => {
    const org = await h.createOrg();
    script('down', [500]);
    const { subscription } = await createHook(h, org, { url: url('down'), retry_attempts: 2 });
    await publish(h, org, parcelEvent({ parcelId: 503 }));
    const { id } = await waitUntil('the delivery row', async () => (await listAll(h, org, DELIVERIES, { subscription_id: subscription.id }))[0]);
    const failed = await waitForStatus(h, org, id, 'failed');
    expect(failed.attempt_count).toBe(3);
    expect(failed.attempts).toHaveLength(3);
    expect(failed.attempts.map((x: any) => x.response_status)).toEqual([500, 500, 500]);
    expect(failed.last_status_code).toBe(500);
    expect(failed.last_error).toMatch(/500/);
    expect(failed.next_attempt_at).toBeNull();
    // No fourth attempt on its own (the schedule's next step would be 1 s).
    await sleep(1500);
    expect(at('down')).toHaveLength(3);
    expect((await getDelivery(h, org, id)).status).toBe('failed');

    script('down', [200]);
    const retried = await h.request('POST', `${DELIVERIES}/${id}/retry`, { auth: org });
    expect(retried.status, retried.text).toBe(202);
    expect(retried.body.data.id).toBe(id);
    const ok2 = await waitForStatus(h, org, id, 'succeeded');
    expect(at('down')).toHaveLength(4);
    expect(ok2.attempt_count).toBe(4);
    expect(ok2.attempts.map((x: any) => x.response_status)).toEqual([500, 500, 500, 200]);
    expect(ok2.attempts.map((x: any) => x.number)).toEqual([1, 2, 3, 4]);
    expect(new Set(at('down').map((r) => r.headers['webhook-id'])).size).toBe(1);

    // Another organization cannot see or retry it.
    const other = await h.createOrg();
    expect((await h.request('GET', `${DELIVERIES}/${id}`, { auth: other })).status).toBe(404);
    expect((await h.request('POST', `${DELIVERIES}/${id}/retry`, { auth: other })).status).toBe(404);
  });

  it('recover re-queues the failed deliveries created since the given time, not older ones', async () => {
    const org = await h.createOrg();
    script('recover', [500]);
    const { subscription } = await createHook(h, org, { url: url('recover'), retry_attempts: 0 });
    const deliveryOf = async (parcelId: number) =>
      waitUntil(`delivery of parcel ${parcelId}`, async () => {
        const list = await listAll(h, org, DELIVERIES, { subscription_id: subscription.id });
        for (const d of list) {
          const ev = await h.request('GET', `${ES}/events/${d.event_id}`, { auth: org });
          if (ev.body.data.payload.data.parcel.parcel_id === parcelId) return d;
        }
        return undefined;
      });

    await publish(h, org, parcelEvent({ parcelId: 601 }));
    const older = await deliveryOf(601);
    await waitForStatus(h, org, older.id, 'failed');
    await sleep(20);
    const since = new Date();
    await sleep(20);
    await publish(h, org, parcelEvent({ parcelId: 602 }));
    const newer = await deliveryOf(602);
    await waitForStatus(h, org, newer.id, 'failed');
    expect(at('recover').map(parcelIdOf)).toEqual([601, 602]);

    script('recover', [200]);
    const res = await h.request('POST', `${ES}/subscriptions/${subscription.id}/recover`, {
      auth: org,
      body: { since: since.toISOString() },
    });
    expect(res.status, res.text).toBe(202);
    expect(res.body.data.requeued).toBe(1);
    const recovered = await waitForStatus(h, org, newer.id, 'succeeded');
    expect(recovered.attempt_count).toBe(2);
    // The older one stays failed and is not attempted again.
    await sleep(500);
    expect(at('recover').map(parcelIdOf)).toEqual([601, 602, 602]);
    const old = await getDelivery(h, org, older.id);
    expect(old.status).toBe('failed');
    expect(old.attempt_count).toBe(1);

    // A recover that matches nothing re-queues nothing; another org's subscription is 404.
    const none = await h.request('POST', `${ES}/subscriptions/${subscription.id}/recover`, {
      auth: org,
      body: { since: new Date().toISOString() },
    });
    expect(none.status, none.text).toBe(202);
    expect(none.body.data.requeued).toBe(0);
    const other: Credentials = await h.createOrg();
    const foreign = await h.request('POST', `${ES}/subscriptions/${subscription.id}/recover`, {
      auth: other,
      body: { since: since.toISOString() },
    });
    expect(foreign.status).toBe(404);
  });

  it('lists deliveries newest first with filters and cursor pagination', async () => {
    const org = await h.createOrg();
    script('list-ok', [200]);
    script('list-bad', [500]);
    const good = await createHook(h, org, { url: url('list-ok') });
    const bad = await createHook(h, org, { url: url('list-bad'), retry_attempts: 0 });
    for (let i = 0; i < 3; i++) await publish(h, org, parcelEvent({ parcelId: 700 + i }));
    await waitUntil('six finished deliveries', async () => {
      const all = await listAll(h, org, DELIVERIES);
      return all.length === 6 && all.every((d) => d.status !== 'pending');
    });

    const all = await listAll(h, org, DELIVERIES);
    const ids = all.map((d) => d.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    // Pages of two, following the cursor, give the same list.
    const paged: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `${DELIVERIES}?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await h.request('GET', q, { auth: org });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      paged.push(...res.body.data.map((d: any) => d.id));
      cursor = res.body.meta.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(paged).toEqual(ids);
    expect(pages).toBe(3);

    const bySub = await listAll(h, org, DELIVERIES, { subscription_id: good.subscription.id });
    expect(bySub).toHaveLength(3);
    expect(bySub.every((d) => d.subscription_id === good.subscription.id && d.status === 'succeeded')).toBe(true);
    const byConn = await listAll(h, org, DELIVERIES, { connection_id: bad.connection.id });
    expect(byConn).toHaveLength(3);
    expect(byConn.every((d) => d.connection_id === bad.connection.id)).toBe(true);
    const failed = await listAll(h, org, DELIVERIES, { status: 'failed' });
    expect(failed.map((d) => d.id).sort()).toEqual(byConn.map((d) => d.id).sort());
    const succeeded = await listAll(h, org, DELIVERIES, { status: 'succeeded' });
    expect(succeeded.map((d) => d.id).sort()).toEqual(bySub.map((d) => d.id).sort());

    // Another organization sees none of them.
    const other = await h.createOrg();
    expect(await listAll(h, other, DELIVERIES)).toEqual([]);
  });
});
