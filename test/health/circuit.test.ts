import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type Credentials, type TestHerald, startHerald } from '../support/herald.js';
import { type HeraldProcess, ensureBuilt, spawnHerald } from '../support/process.js';
import { type Received, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { WEBHOOKS, createWebhook, v1 } from '../v1/helpers.js';
import {
  CONNECTIONS,
  DELIVERIES,
  EVENTS,
  type Hook,
  createHook,
  headerRecord,
  listAll,
  publishBatch,
  sleep,
  subscribe,
  waitUntil,
} from '../delivery/helpers.js';

/**
 * Endpoint health (issue 13) with real receivers, two workers on one database (this process
 * and a `--role worker` child): the circuit opens after the threshold, then only probes go
 * out; one successful probe closes it and every waiting delivery arrives once, none failed;
 * a connection failing for HERALD_DISABLE_AFTER is disabled and `enable` delivers (or skips)
 * its backlog; each transition is one operational event at the organization's subscription
 * and at the operator's webhook, verified with the `standardwebhooks` package.
 */

const OPERATOR_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const HEALTH_TYPES = [
  'herald.connection.failing',
  'herald.connection.recovered',
  'herald.connection.disabled',
  'herald.connection.enabled',
];

/** A receiver whose paths can be switched between dead (503) and alive (200). */
async function switchableReceiver() {
  const dead = new Set<string>();
  /** Requests answered 200, by webhook-id. */
  const succeeded = new Map<string, number>();
  const receiver = await startReceiver((req, res) => {
    if (dead.has(req.path)) {
      res.writeHead(503).end('down');
      return;
    }
    const id = String(req.headers['webhook-id']);
    succeeded.set(`${req.path} ${id}`, (succeeded.get(`${req.path} ${id}`) ?? 0) + 1);
    res.writeHead(200).end('OK');
  });
  return {
    receiver,
    dead,
    url: (path: string) => `http://127.0.0.1:${receiver.port}${path}`,
    at: (path: string) => receiver.received.filter((r) => r.path === path),
    /** webhook-ids answered 200 at `path`, with how often. */
    successesAt: (path: string) => [...succeeded].filter(([key]) => key.startsWith(`${path} `)).map(([, n]) => n),
  };
}

type World = Awaited<ReturnType<typeof switchableReceiver>>;

function operationalAt(world: World, path: string, type: string, connectionId: number): Received[] {
  return world.at(path).filter((r) => {
    const body = JSON.parse(r.body) as { event_type: string; data: { connection_id: number } };
    return body.event_type === type && body.data.connection_id === connectionId;
  });
}

async function connectionOf(h: TestHerald, org: Credentials, id: number) {
  const res = await h.request('GET', `${CONNECTIONS}/${id}`, { auth: org });
  expect(res.status, res.text).toBe(200);
  return res.body.data;
}

async function statusBecomes(h: TestHerald, org: Credentials, id: number, status: string, timeoutMs = 20_000) {
  return waitUntil(`connection ${id} ${status}`, async () => {
    const c = await connectionOf(h, org, id);
    return c.status === status ? c : undefined;
  }, timeoutMs, 50);
}

/** An organization's on-call webhook, subscribed to the operational types. */
async function onCall(h: TestHerald, org: Credentials, world: World, path: string) {
  const hook = await createHook(h, org, { url: world.url(path) }, HEALTH_TYPES[0]);
  for (const type of [...HEALTH_TYPES.slice(1), 'herald.delivery.exhausted']) await subscribe(h, org, hook.connection.id, type);
  return hook;
}

async function startWorld(kind: (typeof DATABASES)[number], env: Record<string, string>) {
  const world = await switchableReceiver();
  const h = await startHerald(kind, {
    HERALD_POLL_INTERVAL_MS: '100',
    HERALD_RETRY_SCHEDULE: '200ms',
    HERALD_OPERATOR_WEBHOOK_URL: world.url('/operator'),
    HERALD_OPERATOR_WEBHOOK_SECRET: OPERATOR_SECRET,
    ...env,
  });
  const worker = await spawnHerald({ env: { ...h.env, HERALD_LOG_LEVEL: 'info' }, role: 'worker', name: `health-${kind}` });
  return { world, h, worker };
}

function expectSignedByOperator(requests: Received[]) {
  const wh = new Webhook(OPERATOR_SECRET);
  for (const r of requests) expect(() => wh.verify(r.body, headerRecord(r))).not.toThrow();
}

describe.each(DATABASES)('circuit breaker on %s (two workers)', (kind) => {
  let world: World;
  let h: TestHerald;
  let worker: HeraldProcess;
  let org: Credentials;
  let bystander: Credentials;
  let dead: Hook;

  beforeAll(async () => {
    ensureBuilt();
    ({ world, h, worker } = await startWorld(kind, {
      HERALD_CIRCUIT_FAILURES: '5',
      HERALD_CIRCUIT_PROBE_INTERVAL: '1s',
      HERALD_DISABLE_AFTER: '0',
    }));
    org = await h.createOrg();
    bystander = await h.createOrg();
    world.dead.add('/dead');
    dead = await createHook(h, org, { url: world.url('/dead'), retry_attempts: 10 });
    await onCall(h, org, world, '/oncall');
  }, 60_000);
  afterAll(async () => {
    await worker?.kill();
    await h?.close();
    await world?.receiver.close();
  });

  it('opens after the threshold, then sends only probes; the others are unaffected; one probe closes it and the backlog arrives once', async () => {
    await publishBatch(h, org, Array.from({ length: 20 }, (_, i) => parcelEvent({ parcelId: 1000 + i })));
    const failing = await statusBecomes(h, org, dead.connection.id, 'failing');
    expect(failing.consecutive_failures).toBeGreaterThanOrEqual(5);
    expect(failing.failing_since).not.toBeNull();
    expect(failing.status_reason).toMatch(/consecutive failed attempts/);

    // Past whatever was already in flight when it opened, count what reaches the dead endpoint.
    await sleep(500);
    const before = world.at('/dead').length;
    await publishBatch(h, org, Array.from({ length: 10 }, (_, i) => parcelEvent({ parcelId: 2000 + i })));
    const other = await createHook(h, bystander, { url: world.url('/other') });
    await publishBatch(h, bystander, Array.from({ length: 20 }, (_, i) => parcelEvent({ parcelId: 3000 + i })));
    await sleep(3500);
    const probes = world.at('/dead').length - before;
    console.log(`health ${kind}: requests to the open circuit in 3.5 s: ${probes} (probe every 1 s, doubling)`);
    // Probes after 1 s, then 2 s (doubling): at most 3 in 3.5 s, whatever the number of workers.
    expect(probes, `requests to the open circuit in 3.5 s`).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(3);
    // The other tenant's deliveries went out as usual.
    expect(world.successesAt('/other')).toHaveLength(20);
    expect(world.successesAt('/other').every((n) => n === 1)).toBe(true);
    void other;

    // Nothing of the dead connection failed for the wait: it waits (pending or parked).
    const waiting = await listAll(h, org, DELIVERIES, { subscription_id: dead.subscription.id });
    expect(waiting).toHaveLength(30);
    expect(waiting.filter((d) => d.status === 'failed')).toEqual([]);

    world.dead.delete('/dead');
    const recovered = await statusBecomes(h, org, dead.connection.id, 'active', 30_000);
    expect(recovered.consecutive_failures).toBe(0);
    expect(recovered.failing_since).toBeNull();
    const done = await waitUntil('every delivery succeeded', async () => {
      const list = await listAll(h, org, DELIVERIES, { subscription_id: dead.subscription.id });
      return list.length === 30 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    }, 30_000);
    expect(done).toHaveLength(30);
    await sleep(500);
    const answered = world.successesAt('/dead');
    expect(answered).toHaveLength(30);
    expect(answered.filter((n) => n > 1), 'deliveries answered 200 twice').toEqual([]);

    // One event per transition, at the on-call webhook and at the operator.
    await waitUntil('operational events', () => operationalAt(world, '/operator', 'herald.connection.recovered', dead.connection.id).length >= 1);
    await sleep(500);
    for (const type of ['herald.connection.failing', 'herald.connection.recovered']) {
      expect(operationalAt(world, '/oncall', type, dead.connection.id), type).toHaveLength(1);
      expect(operationalAt(world, '/operator', type, dead.connection.id), type).toHaveLength(1);
    }
    expectSignedByOperator(world.at('/operator'));
    const [failingEvent] = operationalAt(world, '/oncall', 'herald.connection.failing', dead.connection.id);
    const body = JSON.parse(failingEvent!.body);
    expect(body.data).toMatchObject({
      organization_id: expect.any(Number),
      connection_id: dead.connection.id,
      status: 'failing',
      reason: expect.stringMatching(/consecutive failed attempts/),
      failing_since: expect.any(String),
      last_attempt: { status_code: 503, error: expect.any(String), at: expect.any(String) },
    });
    // Never to the connection it is about.
    expect(world.at('/dead').filter((r) => r.body.includes('"herald.'))).toEqual([]);
  }, 120_000);

  it('reports exhausted deliveries once per connection per hour, with the count', async () => {
    world.dead.add('/exhausted');
    const hook = await createHook(h, org, { url: world.url('/exhausted'), retry_attempts: 0 });
    await publishBatch(h, org, [parcelEvent({ parcelId: 7000 }), parcelEvent({ parcelId: 7001 })]);
    const events = () => operationalAt(world, '/oncall', 'herald.delivery.exhausted', hook.connection.id);
    await waitUntil('an exhausted event', () => events().length >= 1);
    const first = JSON.parse(events()[0]!.body).data;
    expect(first.count).toBeGreaterThanOrEqual(1);
    expect(first.status).toBe('active');
    // More failures within the hour are counted for the next report, not sent now.
    await publishBatch(h, org, [parcelEvent({ parcelId: 7002 }), parcelEvent({ parcelId: 7003 })]);
    await waitUntil('four failed deliveries', async () => {
      const list = await listAll(h, org, DELIVERIES, { subscription_id: hook.subscription.id });
      return list.length === 4 && list.every((d) => d.status === 'failed') ? list : undefined;
    });
    await sleep(1500);
    expect(events()).toHaveLength(1);
    expect(operationalAt(world, '/operator', 'herald.delivery.exhausted', hook.connection.id)).toHaveLength(1);
  }, 60_000);

  it('refuses a platform publishing an operational event type', async () => {
    const res = await h.request('POST', EVENTS, {
      auth: org,
      body: { event_type: 'herald.connection.failing', data: { organization_id: 1 } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'invalid', source: { pointer: '/data/event_type' } });
  });
});

describe.each(DATABASES)('disabling on %s (two workers)', (kind) => {
  let world: World;
  let h: TestHerald;
  let worker: HeraldProcess;
  let org: Credentials;
  let oncall: Hook;

  beforeAll(async () => {
    ensureBuilt();
    ({ world, h, worker } = await startWorld(kind, {
      HERALD_CIRCUIT_FAILURES: '3',
      HERALD_CIRCUIT_PROBE_INTERVAL: '1s',
      HERALD_DISABLE_AFTER: '5s',
    }));
    org = await h.createOrg();
    oncall = await onCall(h, org, world, '/oncall');
  }, 60_000);
  afterAll(async () => {
    await worker?.kill();
    await h?.close();
    await world?.receiver.close();
  });

  it('disables a connection failing for HERALD_DISABLE_AFTER; it gets nothing; enable delivers the backlog', async () => {
    world.dead.add('/gone');
    const gone = await createHook(h, org, { url: world.url('/gone'), retry_attempts: 10 });
    await publishBatch(h, org, Array.from({ length: 5 }, (_, i) => parcelEvent({ parcelId: 4000 + i })));
    const disabled = await statusBecomes(h, org, gone.connection.id, 'disabled', 30_000);
    expect(disabled.disabled_at).not.toBeNull();
    expect(disabled.status_reason).toMatch(/every attempt failed for 5s/);
    await sleep(300);
    const before = world.at('/gone').length;
    await publishBatch(h, org, Array.from({ length: 3 }, (_, i) => parcelEvent({ parcelId: 5000 + i })));
    await sleep(2500);
    expect(world.at('/gone').length - before, 'requests to a disabled connection').toBe(0);
    const waiting = await listAll(h, org, DELIVERIES, { subscription_id: gone.subscription.id });
    expect(waiting.filter((d) => d.status === 'failed')).toEqual([]);

    world.dead.delete('/gone');
    const enabled = await h.request('POST', `${CONNECTIONS}/${gone.connection.id}/enable`, { auth: org });
    expect(enabled.status, enabled.text).toBe(200);
    expect(enabled.body.data).toMatchObject({ status: 'active', consecutive_failures: 0, disabled_at: null });
    const done = await waitUntil('the backlog delivered', async () => {
      const list = await listAll(h, org, DELIVERIES, { subscription_id: gone.subscription.id });
      return list.length === 8 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    }, 30_000);
    expect(done).toHaveLength(8);
    await sleep(500);
    expect(world.successesAt('/gone')).toHaveLength(8);
    expect(world.successesAt('/gone').every((n) => n === 1)).toBe(true);

    await waitUntil('enabled event at the operator', () => operationalAt(world, '/operator', 'herald.connection.enabled', gone.connection.id).length >= 1);
    await sleep(500);
    for (const path of ['/oncall', '/operator']) {
      const disabledEvents = operationalAt(world, path, 'herald.connection.disabled', gone.connection.id);
      expect(disabledEvents, `disabled at ${path}`).toHaveLength(1);
      expect(JSON.parse(disabledEvents[0]!.body).data.trigger).toBe('automatic');
      const enabledEvents = operationalAt(world, path, 'herald.connection.enabled', gone.connection.id);
      expect(enabledEvents, `enabled at ${path}`).toHaveLength(1);
      expect(JSON.parse(enabledEvents[0]!.body).data.trigger).toBe('manual');
      expect(operationalAt(world, path, 'herald.connection.failing', gone.connection.id), `failing at ${path}`).toHaveLength(1);
    }
    expectSignedByOperator(world.at('/operator'));
    void oncall;
  }, 120_000);

  it('disable by hand holds deliveries; enable with deliver_backlog false skips them', async () => {
    const hook = await createHook(h, org, { url: world.url('/paused-by-hand') });
    const off = await h.request('POST', `${CONNECTIONS}/${hook.connection.id}/disable`, { auth: org });
    expect(off.status, off.text).toBe(200);
    expect(off.body.data).toMatchObject({ status: 'disabled', status_reason: 'disabled by hand' });
    await publishBatch(h, org, Array.from({ length: 4 }, (_, i) => parcelEvent({ parcelId: 6000 + i })));
    await waitUntil('the deliveries wait, parked', async () => {
      const list = await listAll(h, org, DELIVERIES, { subscription_id: hook.subscription.id });
      return list.length === 4 && list.every((d) => d.status === 'parked') ? list : undefined;
    });
    const on = await h.request('POST', `${CONNECTIONS}/${hook.connection.id}/enable`, {
      auth: org,
      body: { deliver_backlog: false },
    });
    expect(on.status, on.text).toBe(200);
    const skipped = await listAll(h, org, DELIVERIES, { subscription_id: hook.subscription.id });
    expect(skipped.map((d) => [d.status, d.last_error])).toEqual(Array(4).fill(['failed', 'skipped on enable']));
    await sleep(1000);
    expect(world.at('/paused-by-hand')).toEqual([]);
    await waitUntil('manual disable event', () => operationalAt(world, '/oncall', 'herald.connection.disabled', hook.connection.id).length >= 1);
    const [event] = operationalAt(world, '/oncall', 'herald.connection.disabled', hook.connection.id);
    expect(JSON.parse(event!.body).data.trigger).toBe('manual');
  }, 60_000);

  it('answers 404 for another organization, and 400 for a bad body', async () => {
    const hook = await createHook(h, org, { url: world.url('/x') });
    const stranger = await h.createOrg();
    expect((await h.request('POST', `${CONNECTIONS}/${hook.connection.id}/disable`, { auth: stranger })).status).toBe(404);
    const bad = await h.request('POST', `${CONNECTIONS}/${hook.connection.id}/enable`, { auth: org, body: { deliver_backlog: 'yes' } });
    expect(bad.status).toBe(400);
    expect((await connectionOf(h, org, hook.connection.id)).status).toBe('active');
  });

  it('SendKit: PATCH status disabled shows disabled; active enables it again', async () => {
    const created = await createWebhook(h, org, { url: world.url('/sendkit'), events: ['email.sent'] });
    const off = await v1(h, org, 'PATCH', `${WEBHOOKS}/${created._id}`, { status: 'disabled' });
    expect(off.status, off.text).toBe(200);
    expect(off.body.data.status).toBe('disabled');
    const on = await v1(h, org, 'PATCH', `${WEBHOOKS}/${created._id}`, { status: 'active' });
    expect(on.status, on.text).toBe(200);
    expect(on.body.data.status).toBe('active');
  });
});

describe.each(DATABASES)('a failing connection reconfigured on %s', (kind) => {
  let world: World;
  let h: TestHerald;
  let worker: HeraldProcess;
  let org: Credentials;

  beforeAll(async () => {
    ensureBuilt();
    // Probes 10 minutes apart: only the reconfiguration can close the circuit within the test.
    ({ world, h, worker } = await startWorld(kind, {
      HERALD_CIRCUIT_FAILURES: '3',
      HERALD_CIRCUIT_PROBE_INTERVAL: '10m',
      HERALD_DISABLE_AFTER: '0',
    }));
    org = await h.createOrg();
  }, 60_000);
  afterAll(async () => {
    await worker?.kill();
    await h?.close();
    await world?.receiver.close();
  });

  it('is probed at once when its configuration changes, and delivers what waited', async () => {
    world.dead.add('/broken');
    const hook = await createHook(h, org, { url: world.url('/broken'), retry_attempts: 10 });
    await publishBatch(h, org, Array.from({ length: 6 }, (_, i) => parcelEvent({ parcelId: 8000 + i })));
    await statusBecomes(h, org, hook.connection.id, 'failing');
    const patched = await h.request('PATCH', `${CONNECTIONS}/${hook.connection.id}`, {
      auth: org,
      body: { configuration: { url: world.url('/fixed') } },
    });
    expect(patched.status, patched.text).toBe(200);
    await statusBecomes(h, org, hook.connection.id, 'active', 15_000);
    const done = await waitUntil('every delivery succeeded', async () => {
      const list = await listAll(h, org, DELIVERIES, { subscription_id: hook.subscription.id });
      return list.length === 6 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    }, 20_000);
    expect(done).toHaveLength(6);
    expect(world.successesAt('/fixed').every((n) => n === 1)).toBe(true);
    expect(world.successesAt('/fixed')).toHaveLength(6);
  }, 60_000);
});
