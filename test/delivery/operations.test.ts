import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, dropSchema, freshDatabaseEnv, startHerald } from '../support/herald.js';
import { type HeraldProcess, createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { DELIVERIES, PARCEL, createHook, listAll, metricValue, publish, sleep, waitForStatus, waitUntil } from './helpers.js';

const ACCEPTED = `herald_events_accepted_total{event_type="${PARCEL}"}`;
const SUCCEEDED = 'herald_deliveries_total{outcome="succeeded"}';
const RETRYING = 'herald_deliveries_total{outcome="retrying"}';
const FAILED = 'herald_deliveries_total{outcome="failed"}';
const DURATION_COUNT = 'herald_attempt_duration_seconds_count';
const DURATION_SUM = 'herald_attempt_duration_seconds_sum';
const DEPTH = 'herald_queue_depth';
const OLDEST = 'herald_oldest_pending_age_seconds';

describe.each(DATABASES)('health and metrics on %s', (kind) => {
  let h: TestHerald;
  let idle: TestHerald;
  let receiver: Receiver;
  let org: Credentials;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;
  const metrics = async (on: TestHerald = h) => {
    const res = await on.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text;
  };
  const value = (text: string, sample: string) => metricValue(text, sample) ?? 0;

  beforeAll(async () => {
    // The queue gauges are recomputed on a timer (HERALD_METRICS_REFRESH_MS), not per scrape.
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms', HERALD_METRICS_REFRESH_MS: '100' });
    // No workers: whatever is published stays queued.
    idle = await startHerald(kind, { HERALD_METRICS_REFRESH_MS: '100' }, { workers: false });
    org = await h.createOrg();
    receiver = await startReceiver((req, res) => {
      if (req.path === '/broken') {
        res.writeHead(500).end('no');
        return;
      }
      // A measurable attempt duration.
      setTimeout(() => ok(req, res), 30);
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
    await idle?.close();
  });

  it('answers /healthz and /readyz with 200 without credentials', async () => {
    const health = await h.request('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await h.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
  });

  it('exposes the Prometheus metrics with values that follow the deliveries', async () => {
    const text0 = await metrics();
    for (const name of [
      'herald_events_accepted_total',
      'herald_deliveries_total',
      'herald_attempt_duration_seconds',
      'herald_queue_depth',
      'herald_oldest_pending_age_seconds',
    ]) {
      expect(text0, name).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'));
    }
    const { subscription } = await createHook(h, org, { url: url('metered') });
    for (let i = 0; i < 3; i++) await publish(h, org, parcelEvent({ parcelId: 40_000 + i }));
    await waitUntil('three deliveries succeeded', async () => {
      const list = await listAll(h, org, DELIVERIES, { subscription_id: subscription.id, status: 'succeeded' });
      return list.length === 3;
    });
    const text = await waitUntil('the metrics to count three successes', async () => {
      const t = await metrics();
      return value(t, SUCCEEDED) - value(text0, SUCCEEDED) === 3 ? t : undefined;
    });
    expect(value(text, ACCEPTED) - value(text0, ACCEPTED)).toBe(3);
    expect(value(text, DURATION_COUNT) - value(text0, DURATION_COUNT)).toBe(3);
    const seconds = value(text, DURATION_SUM) - value(text0, DURATION_SUM);
    expect(seconds).toBeGreaterThanOrEqual(3 * 0.025); // the receiver takes 30 ms each
    expect(seconds).toBeLessThan(30);
    // The gauges follow at the next refresh.
    const settled = await waitUntil('the queue gauges to show the queue empty', async () => {
      const t = await metrics();
      return metricValue(t, DEPTH) === 0 ? t : undefined;
    });
    expect(metricValue(settled, OLDEST)).toBe(0);

    // A failing endpoint: one retry, then failed.
    const broken = await createHook(h, org, { url: url('broken'), retry_attempts: 1 });
    await publish(h, org, parcelEvent({ parcelId: 40_010 }));
    const d = await waitUntil('the failing delivery', async () => (await listAll(h, org, DELIVERIES, { subscription_id: broken.subscription.id }))[0]);
    await waitForStatus(h, org, d.id, 'failed');
    const text2 = await waitUntil('the metrics to count the failure', async () => {
      const t = await metrics();
      return value(t, FAILED) - value(text, FAILED) === 1 ? t : undefined;
    });
    expect(value(text2, RETRYING) - value(text, RETRYING)).toBe(1);
    expect(value(text2, SUCCEEDED) - value(text, SUCCEEDED)).toBe(1); // the other subscription got it
    expect(value(text2, ACCEPTED) - value(text, ACCEPTED)).toBe(1);
  });

  it('reports the queue depth and the age of the oldest due delivery', async () => {
    const idleOrg = await idle.createOrg();
    await createHook(idle, idleOrg, { url: url('queued') });
    await createHook(idle, idleOrg, { url: url('queued-2') });
    const before = await metrics(idle);
    expect(metricValue(before, DEPTH)).toBe(0);
    await publish(idle, idleOrg, parcelEvent({ parcelId: 40_020 }));
    await sleep(1200);
    const text = await metrics(idle);
    expect(metricValue(text, DEPTH)).toBe(2);
    const age = metricValue(text, OLDEST) as number;
    expect(age).toBeGreaterThanOrEqual(1);
    expect(age).toBeLessThan(60);
    expect(value(text, ACCEPTED)).toBe(1);
    expect(receiver.received.filter((r) => r.path.startsWith('/queued'))).toHaveLength(0);
  });
});

describe.each(DATABASES)('SIGTERM of a serving process on %s (built CLI)', (kind) => {
  let dataDir: string;
  let env: Record<string, string>;
  let receiver: Receiver;
  let org: Credentials;
  let answeredAt = 0;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-sigterm-'));
    env = {
      HERALD_DATA_DIR: dataDir,
      HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
      HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
      HERALD_RETRY_SCHEDULE: '100ms',
      ...freshDatabaseEnv(kind, dataDir),
    };
    receiver = await startReceiver((req, res) => {
      if (req.path === '/hangs') return; // never answers
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('took a second', () => {
          answeredAt = Date.now();
        });
      }, 1000);
    });
    org = await createKeys(env, `sigterm-${kind}`);
  }, 60_000);
  afterAll(async () => {
    await killAll();
    await receiver?.close();
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('lets the in-flight delivery finish, records it, and exits 0', { timeout: 120_000 }, async () => {
    const serving: HeraldProcess = await spawnHerald({ env, role: 'all', name: 'serving' });
    const { subscription } = await createHook(serving, org, { url: url('slow') });
    await publish(serving, org, parcelEvent({ parcelId: 50_001 }));
    await receiver.waitFor(1, 30_000);
    expect(answeredAt).toBe(0); // the receiver is still thinking
    serving.signal('SIGTERM');
    const exit = await serving.exited;
    const exitedAt = Date.now();
    expect(exit, serving.tail()).toEqual({ code: 0, signal: null });
    expect(answeredAt, 'the receiver answered before the process exited').toBeGreaterThan(0);
    expect(exitedAt).toBeGreaterThanOrEqual(answeredAt);
    expect(receiver.received.filter((r) => r.path === '/slow')).toHaveLength(1);

    // The result was committed before the exit: a read-only restart shows it succeeded.
    const reader = await spawnHerald({ env, role: 'api', name: 'reader' });
    const [delivery] = await listAll(reader, org, DELIVERIES, { subscription_id: subscription.id });
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 1, last_status_code: 200 });
    reader.signal('SIGTERM');
    expect(await reader.exited).toEqual({ code: 0, signal: null });
  });

  it('exits 0 within HERALD_SHUTDOWN_GRACE_MS when a request never finishes, and releases it unattempted', { timeout: 120_000 }, async () => {
    const serving = await spawnHerald({ env: { ...env, HERALD_SHUTDOWN_GRACE_MS: '3000' }, role: 'all', name: 'serving-hung' });
    const { subscription } = await createHook(serving, org, { url: url('hangs'), timeout_ms: 30_000 });
    await publish(serving, org, parcelEvent({ parcelId: 50_002 }));
    await waitUntil('the hanging request', () => receiver.received.some((r) => r.path === '/hangs'), 30_000);
    const t0 = Date.now();
    serving.signal('SIGTERM');
    const exit = await serving.exited;
    const took = Date.now() - t0;
    expect(exit, serving.tail()).toEqual({ code: 0, signal: null });
    expect(took, `exited ${took} ms after SIGTERM`).toBeLessThan(3_000 + 5_000);
    // Cut short by the shutdown, not failed by the endpoint: pending again, no attempt counted.
    const reader = await spawnHerald({ env, role: 'api', name: 'reader-hung' });
    const [delivery] = await listAll(reader, org, DELIVERIES, { subscription_id: subscription.id });
    expect(delivery).toMatchObject({ status: 'pending', attempt_count: 0, in_flight: false });
    reader.signal('SIGTERM');
    expect(await reader.exited).toEqual({ code: 0, signal: null });
  });
});
