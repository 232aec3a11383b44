import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import {
  CONNECTIONS,
  DELIVERIES,
  SUBSCRIPTIONS,
  createHook,
  getDelivery,
  listAll,
  publish,
  publishBatch,
  sleep,
  subscribe,
  waitUntil,
} from './helpers.js';

/**
 * Changes made while deliveries are in flight (issue 10, defects 1, 3, 4, 5): one tenant's
 * delete, move or pause must cost nobody else a result, and must lose none of its own work.
 */
describe.each(DATABASES)('changes while deliveries are in flight on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  /** Requests per webhook-id, to count duplicates. */
  const byId = () => {
    const counts = new Map<string, number>();
    for (const r of receiver.received) {
      const id = String(r.headers['webhook-id']);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;
  const at = (path: string) => receiver.received.filter((r) => r.path === `/${path}`);

  beforeAll(async () => {
    // A short lease, so that a result batch lost to a rollback shows up as redeliveries
    // within the test; the longest timeout is sized to fit it.
    h = await startHerald(kind, {
      HERALD_LEASE_MS: '4000',
      HERALD_MAX_TIMEOUT_MS: '2000',
      HERALD_RETRY_SCHEDULE: '300ms',
      HERALD_POLL_INTERVAL_MS: '100',
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it("a subscription deleted mid-flight drops only its own results: another tenant's in the same batch are kept", async () => {
    const victim = await h.createOrg();
    const bystander = await h.createOrg();
    // Every request is held, then all are answered at once: their results share a batch.
    const held: Array<() => void> = [];
    receiver.respond((_req, res) => {
      held.push(() => res.writeHead(200).end('OK'));
    });
    const gone = await createHook(h, victim, { url: url('gone'), timeout_ms: 2000 });
    const kept = await createHook(h, bystander, { url: url('kept'), timeout_ms: 2000 });
    await publishBatch(h, victim, Array.from({ length: 5 }, (_, i) => parcelEvent({ parcelId: 100 + i })));
    await publishBatch(h, bystander, Array.from({ length: 5 }, (_, i) => parcelEvent({ parcelId: 200 + i })));
    await waitUntil('all ten requests in flight', () => receiver.received.length >= 10);
    const del = await h.request('DELETE', `${SUBSCRIPTIONS}/${gone.subscription.id}`, { auth: victim });
    expect(del.status).toBe(204);
    for (const answer of held.splice(0)) answer();
    receiver.respond(ok);
    const done = await waitUntil('the bystander deliveries to succeed', async () => {
      const list = await listAll(h, bystander, DELIVERIES, { subscription_id: kept.subscription.id });
      return list.length === 5 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    });
    expect(done).toHaveLength(5);
    // Past the lease: a rolled-back batch would have been sent again by now.
    await sleep(4500);
    expect(at('kept')).toHaveLength(5);
    expect([...byId().values()].every((n) => n === 1)).toBe(true);
    receiver.received.length = 0;
  });

  it('a connection that cannot be decrypted fails only its own deliveries, with the reason', async () => {
    const org = await h.createOrg();
    const broken = await createHook(h, org, { url: url('broken'), auth_type: 'bearer', auth_config: { token: 't' } });
    const fine = await createHook(h, org, { url: url('fine') });
    // Its sealed credentials are damaged in the database (a bad restore, a wrong key).
    await sql`update connections set auth_sealed = ${'v1.AAAA.BBBB.CCCC'}, updated_at = updated_at + 1
      where id = ${broken.connection.id}`.execute(h.herald.database.db);
    await publish(h, org, parcelEvent({ parcelId: 301 }));
    const failed = await waitUntil('the broken connection’s delivery to fail', async () => {
      const [d] = await listAll(h, org, DELIVERIES, { subscription_id: broken.subscription.id });
      return d?.status === 'failed' ? d : undefined;
    });
    expect(failed.last_error).toMatch(/the connection cannot be read/);
    expect(failed.attempt_count).toBe(0);
    await waitUntil('the other connection’s delivery', () => at('fine').length === 1);
    const [other] = await listAll(h, org, DELIVERIES, { subscription_id: fine.subscription.id });
    await waitUntil('it to succeed', async () => (await getDelivery(h, org, other.id)).status === 'succeeded');
    expect(at('broken')).toHaveLength(0);
    receiver.received.length = 0;
  });

  it("a subscription moved to another connection takes its pending retries along; deleting the old connection strands nothing", async () => {
    const org = await h.createOrg();
    receiver.respond((req, res) => {
      if (req.path === '/old') res.writeHead(500).end('down');
      else void ok(req, res);
    });
    const from = await createHook(h, org, { url: url('old'), retry_attempts: 10 });
    const to = await h.request('POST', CONNECTIONS, {
      auth: org,
      body: { type: 'webhook', configuration: { url: url('new'), auth_type: 'none' } },
    });
    expect(to.status).toBe(201);
    // A long retry gap keeps the failed first attempt waiting while we move the subscription.
    await publish(h, org, parcelEvent({ parcelId: 401 }));
    await waitUntil('the first attempt at the old URL', () => at('old').length >= 1);
    const moved = await h.request('PATCH', `${SUBSCRIPTIONS}/${from.subscription.id}`, {
      auth: org,
      body: { connection_id: to.body.data.id },
    });
    expect(moved.status, moved.text).toBe(200);
    const del = await h.request('DELETE', `${CONNECTIONS}/${from.connection.id}`, { auth: org });
    expect(del.status).toBe(204);
    const [d] = await listAll(h, org, DELIVERIES, { subscription_id: from.subscription.id });
    expect(d.connection_id).toBe(to.body.data.id);
    await waitUntil('the retry at the new connection', () => at('new').length === 1, 10_000);
    await waitUntil('it to succeed', async () => (await getDelivery(h, org, d.id)).status === 'succeeded');
    receiver.received.length = 0;
    receiver.respond(ok);
  });

  it('a paused subscription parks its deliveries (never failed, never attempted) and delivers them on resume', async () => {
    const org = await h.createOrg();
    let failing = true;
    receiver.respond((req, res) => {
      if (failing) res.writeHead(503).end('busy');
      else void ok(req, res);
    });
    const hook = await createHook(h, org, { url: url('paused'), retry_attempts: 10 });
    await publish(h, org, parcelEvent({ parcelId: 501 }));
    await waitUntil('a first failed attempt', () => at('paused').length >= 1);
    const paused = await h.request('PATCH', `${SUBSCRIPTIONS}/${hook.subscription.id}`, {
      auth: org,
      body: { is_active: false },
    });
    expect(paused.status).toBe(200);
    const [d] = await listAll(h, org, DELIVERIES, { subscription_id: hook.subscription.id });
    const parked = await waitUntil('the delivery to be parked', async () => {
      const row = await getDelivery(h, org, d.id);
      return row.status === 'parked' ? row : undefined;
    });
    const attemptsWhilePaused = at('paused').length;
    expect(parked.attempt_count).toBe(attemptsWhilePaused);
    await sleep(1500); // several retry gaps: nothing is sent while paused
    expect(at('paused')).toHaveLength(attemptsWhilePaused);
    expect((await getDelivery(h, org, d.id)).status).toBe('parked');
    failing = false;
    const resumed = await h.request('PATCH', `${SUBSCRIPTIONS}/${hook.subscription.id}`, {
      auth: org,
      body: { is_active: true },
    });
    expect(resumed.status).toBe(200);
    await waitUntil('the parked delivery to succeed on resume', async () => (await getDelivery(h, org, d.id)).status === 'succeeded');
    expect(at('paused')).toHaveLength(attemptsWhilePaused + 1);
    receiver.received.length = 0;
    receiver.respond(ok);
  });

  it("a 410 Gone deactivates the connection's subscriptions but parks (not fails) the other event types' retries", async () => {
    const org = await h.createOrg();
    receiver.respond((req, res) => {
      const type = (JSON.parse(req.body) as { event_type: string }).event_type;
      res.writeHead(type === 'parcels.event.created' ? 410 : 500).end('x');
    });
    const hook = await createHook(h, org, { url: url('gone410'), retry_attempts: 10 });
    const other = await subscribe(h, org, hook.connection.id, 'email.sent');
    // The other type fails first (a retry is then pending), then the parcel event answers 410.
    await publish(h, org, { event_type: 'email.sent', data: { id: 'e1' } });
    await waitUntil('the email.sent attempt', () => at('gone410').length >= 1);
    await publish(h, org, parcelEvent({ parcelId: 601 }));
    const [gone] = await waitUntil('the parcel delivery', async () => {
      const list = await listAll(h, org, DELIVERIES, { subscription_id: hook.subscription.id });
      return list.length > 0 && list[0].status === 'failed' ? list : undefined;
    });
    expect(gone.last_error).toMatch(/410/);
    const [pending] = await listAll(h, org, DELIVERIES, { subscription_id: other.id });
    const parked = await waitUntil('the other type’s retry to be parked', async () => {
      const row = await getDelivery(h, org, pending.id);
      expect(row.status).not.toBe('failed');
      return row.status === 'parked' ? row : undefined;
    });
    expect(parked.status).toBe('parked');
    receiver.respond(ok);
    const resumed = await h.request('PATCH', `${SUBSCRIPTIONS}/${other.id}`, { auth: org, body: { is_active: true } });
    expect(resumed.status).toBe(200);
    await waitUntil('the parked retry to succeed', async () => (await getDelivery(h, org, pending.id)).status === 'succeeded');
    receiver.received.length = 0;
  });
});
