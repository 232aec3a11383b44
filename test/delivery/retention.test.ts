/**
 * Retention with HERALD_RETENTION=2s, end to end: the worker's background pass removes
 * finished events (succeeded or failed) older than that with their deliveries and attempts,
 * and old broadcast tests; an event with a delivery still pending stays whole, and so does
 * every event younger than the retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetention } from '../../src/delivery/retention.js';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { EVENTS, createHook, metricValue, publish, subscribe, waitUntil } from './helpers.js';

describe.each(DATABASES)('retention on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  let org: Credentials;

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETENTION: '2s', HERALD_RETRY_SCHEDULE: '1h', HERALD_POLL_INTERVAL_MS: '50' });
    receiver = await startReceiver((req, res) => {
      res.writeHead(req.path.includes('fail') ? 500 : 200).end(req.path.includes('fail') ? 'no' : 'ok');
    });
    org = await h.createOrg();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  const db = () => h.herald.store.db;
  const deliveriesOf = (eventId: number) => db().selectFrom('deliveries').selectAll().where('event_id', '=', eventId).execute();
  const attemptsOf = async (deliveryIds: number[]) =>
    deliveryIds.length === 0 ? [] : db().selectFrom('attempts').select(['id', 'delivery_id']).where('delivery_id', 'in', deliveryIds).execute();

  it('removes finished events older than 2 s with their deliveries and attempts, keeps pending ones whole', async () => {
    const ok = await createHook(h, org, { url: `${receiver.url}/ok` });
    await createHook(h, org, { url: `${receiver.url}/fail`, retry_attempts: 0 }, 'email.sent');
    const retrying = await createHook(h, org, { url: `${receiver.url}/fail-later`, retry_attempts: 3 }, 'email.opened');
    await subscribe(h, org, ok.connection.id, 'email.opened');

    const succeeded = await publish(h, org, parcelEvent({ parcelId: 1 }));
    const failed = await publish(h, org, { event_type: 'email.sent', data: { id: 'e1' } });
    // One delivery succeeds at once, the other waits an hour for its retry: the event is not finished.
    const mixed = await publish(h, org, { event_type: 'email.opened', data: { id: 'e2' } });
    expect(mixed.deliveries).toBe(2);
    const test = await h.request('POST', `/api/v3/event-subscriptions/broadcast/test/${ok.subscription.id}`, { auth: org });
    expect(test.status).toBe(200);

    // Recorded at once (they are committed with their events): the pass may run any moment from 2 s on.
    const finishedDeliveries = [...(await deliveriesOf(succeeded.id)), ...(await deliveriesOf(failed.id))].map((d) => d.id);
    const mixedDeliveries = (await deliveriesOf(mixed.id)).map((d) => d.id);
    expect(finishedDeliveries).toHaveLength(2);
    expect(mixedDeliveries).toHaveLength(2);
    // The broadcast test, the parcel, email.sent (fails for good), email.opened twice (one succeeds, one waits an hour).
    await receiver.waitFor(5);
    await waitUntil('the mixed event to be half done', async () => {
      const rows = await deliveriesOf(mixed.id);
      return rows.filter((d) => d.status === 'succeeded').length === 1 && rows.filter((d) => d.status === 'pending' && d.attempt_count === 1).length === 1;
    });

    // The background pass runs every second (a quarter of the retention, at least 1 s).
    await waitUntil(
      'the finished events to be removed',
      async () => (await h.request('GET', `${EVENTS}/${succeeded.id}`, { auth: org })).status === 404 &&
        (await h.request('GET', `${EVENTS}/${failed.id}`, { auth: org })).status === 404,
      15_000,
      200,
    );
    expect(await db().selectFrom('deliveries').select('id').where('id', 'in', finishedDeliveries).execute()).toEqual([]);
    expect(await attemptsOf(finishedDeliveries)).toEqual([]);
    const tests = await db().selectFrom('attempts').select('id').where('is_test', '=', 1).execute();
    expect(tests).toEqual([]);

    // The event with a pending delivery stays, with both deliveries and both attempts.
    expect((await h.request('GET', `${EVENTS}/${mixed.id}`, { auth: org })).status).toBe(200);
    expect((await deliveriesOf(mixed.id)).map((d) => d.id).sort()).toEqual(mixedDeliveries.sort());
    expect(await attemptsOf(mixedDeliveries)).toHaveLength(2);
    expect(retrying.subscription.id).toBeGreaterThan(0);

    const metrics = (await h.request('GET', '/metrics')).text;
    expect(metricValue(metrics, 'herald_rows_removed_total{table="events",reason="retention"}')).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'herald_rows_removed_total{table="deliveries",reason="retention"}')).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'herald_rows_removed_total{table="attempts",reason="retention"}')).toBeGreaterThanOrEqual(3);
  });

  it('never removes an event younger than the retention, finished or not', async () => {
    // Whatever is old by now (the earlier test's rows, Herald's own operational events) goes
    // first, so that the pass measured below has only the young event to judge.
    await runRetention(h.herald.store, Date.now(), 2000);
    const young = await publish(h, org, parcelEvent({ parcelId: 2 }));
    await waitUntil('its delivery to succeed', async () => (await deliveriesOf(young.id))[0]?.status === 'succeeded');
    const counts = await runRetention(h.herald.store, Date.now(), 2000);
    expect(counts.events).toBe(0);
    expect(counts.deliveries).toBe(0);
    expect((await h.request('GET', `${EVENTS}/${young.id}`, { auth: org })).status).toBe(200);
    expect(await deliveriesOf(young.id)).toHaveLength(1);
  });
});
