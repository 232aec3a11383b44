/**
 * /metrics and /readyz: the queue gauges are computed on a timer with one query per refresh
 * and a scrape runs no query; HERALD_METRICS_TOKEN guards /metrics; /readyz tells nobody
 * the database's error.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { createHook, metricValue, publish, sleep, waitUntil } from '../delivery/helpers.js';
import { parcelEvent } from '../support/events.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';

const DEPTH = 'herald_queue_depth';
const OLDEST = 'herald_oldest_pending_age_seconds';
const TOKEN = 'metrics-token-0123456789abcdef';

describe.each(DATABASES)('queue gauges on %s', (kind) => {
  let slow: TestHerald;
  let fast: TestHerald;
  beforeAll(async () => {
    // No workers: what is published stays pending.
    slow = await startHerald(kind, { HERALD_METRICS_REFRESH_MS: '3600000' }, { workers: false });
    fast = await startHerald(kind, { HERALD_METRICS_REFRESH_MS: '100' }, { workers: false });
  });
  afterAll(async () => {
    await slow?.close();
    await fast?.close();
  });

  it('a scrape runs no query: the gauges come from the last refresh, one query each', async () => {
    await slow.herald.metrics.refresh();
    const probe = vi.spyOn(slow.herald.store.deliveries, 'queueStats');
    try {
      for (let i = 0; i < 5; i++) {
        const res = await slow.request('GET', '/metrics');
        expect(res.status).toBe(200);
        expect(metricValue(res.text, DEPTH)).toBe(0);
      }
      expect(probe).not.toHaveBeenCalled();
      await slow.herald.metrics.refresh();
      expect(probe).toHaveBeenCalledTimes(1);
    } finally {
      probe.mockRestore();
    }
  });

  it('the timer refreshes the gauges while the queue grows, without being scraped', async () => {
    const org = await fast.createOrg();
    await createHook(fast, org, { url: 'http://127.0.0.1:9/queued' });
    await createHook(fast, org, { url: 'http://127.0.0.1:9/queued-2' });
    await publish(fast, org, parcelEvent({ parcelId: 41_000 }));
    await waitUntil('the depth gauge to show both deliveries', () => fast.herald.metrics.queueDepth.get().then((g) => g.values[0]?.value === 2));
    await sleep(1100);
    const text = (await fast.request('GET', '/metrics')).text;
    expect(metricValue(text, DEPTH)).toBe(2);
    expect(metricValue(text, OLDEST)).toBeGreaterThanOrEqual(0.9);
  });

  it('counts pending deliveries only up to the cap, in one statement with the oldest due time', async () => {
    const org = await slow.createOrg();
    await createHook(slow, org, { url: 'http://127.0.0.1:9/capped' });
    for (let i = 0; i < 3; i++) await publish(slow, org, parcelEvent({ parcelId: 41_100 + i }));
    const now = Date.now() + 5_000;
    expect(await slow.herald.store.deliveries.queueStats(now, 1_000_000)).toMatchObject({ pending: 3 });
    const capped = await slow.herald.store.deliveries.queueStats(now, 2);
    expect(capped.pending).toBe(2);
    expect(capped.oldestDueMs).toBeGreaterThanOrEqual(5_000);
  });
});

describe('the refresh timer', () => {
  it('refreshes every HERALD_METRICS_REFRESH_MS until close()', async () => {
    const probe = { queueStats: vi.fn(async () => ({ pending: 0, oldestDueMs: 0 })) };
    const metrics = new Metrics(probe, { refreshMs: 100 });
    await sleep(350);
    expect(probe.queueStats.mock.calls.length).toBeGreaterThanOrEqual(2);
    await metrics.close();
    const calls = probe.queueStats.mock.calls.length;
    await sleep(350);
    expect(probe.queueStats.mock.calls.length).toBe(calls);
  });
});

describe.each(DATABASES)('/metrics with HERALD_METRICS_TOKEN and /readyz on %s', (kind) => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_METRICS_TOKEN: TOKEN }, { workers: false });
  });
  afterAll(() => h?.close());

  it('answers 401 without the token, with a wrong one, or with API credentials; 200 with it', async () => {
    const org = await h.createOrg();
    for (const auth of [undefined, 'Bearer wrong-token', `Bearer ${TOKEN}x`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, org.basic]) {
      const res = await h.request('GET', '/metrics', auth ? { auth } : {});
      expect(res.status, `${auth}: ${res.text}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body.errors[0]).toMatchObject({ status: '401', code: 'authentication_failed' });
      expect(res.text).not.toContain('herald_queue_depth');
    }
    const ok = await h.request('GET', '/metrics', { auth: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/^# TYPE herald_queue_depth gauge$/m);
  });

  it('/readyz answers only {"status":"not ready"} (503) when the database fails', async () => {
    const executor = h.herald.database.db.getExecutor();
    const failing = vi
      .spyOn(Object.getPrototypeOf(executor), 'executeQuery')
      .mockRejectedValue(new Error('connect ECONNREFUSED 10.20.30.40:5432 (user herald_admin, password hunter2)'));
    try {
      const res = await h.request('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'not ready' });
      expect(res.text).not.toMatch(/ECONNREFUSED|hunter2|10\.20/);
    } finally {
      failing.mockRestore();
    }
    const ready = await h.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });
});
