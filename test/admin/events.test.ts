/**
 * Publishing for an organization through the admin API: the v3 bodies, validation,
 * Idempotency-Key and 202 answers, and the events reach the organization's subscriptions.
 * A suspended organization's deliveries wait (parked, never attempted) and go out once it is
 * active again; a paused subscription's stay parked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneError } from '../api/helpers.js';
import { EVENTS, PARCEL, createHook, parcelIdOf, sleep, waitUntil } from '../delivery/helpers.js';
import { parcelEvent } from '../support/events.js';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { ADMIN, ORGS, admin, createOrganization, issueKey, newAdminToken } from './helpers.js';

describe.each(DATABASES)('admin publishing on %s', (kind) => {
  const token = newAdminToken();
  let h: TestHerald;
  let receiver: Receiver;
  let org: { id: number };
  let key: Credentials;
  let subscriptionId: number;
  const publishPath = () => `${ORGS}/${org.id}/events`;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    admin(h, token, method, path, { ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) });
  const eventCount = async () =>
    Number(
      (
        await h.herald.store.db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('organization_id', '=', org.id)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const deliveriesOf = (eventId: number) =>
    h.herald.store.db.selectFrom('deliveries').selectAll().where('event_id', '=', eventId).orderBy('id').execute();

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_ADMIN_TOKEN: token, HERALD_POLL_INTERVAL_MS: '50' });
    receiver = await startReceiver();
    org = await createOrganization(h, token, { name: 'Publisher', external_id: `pub-${kind}` });
    key = await issueKey(h, token, org.id);
    subscriptionId = (await createHook(h, key, { url: receiver.url })).subscription.id;
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('publishes one event (202, as v3 answers) that reaches the subscription', async () => {
    const res = await call('POST', publishPath(), parcelEvent({ parcelId: 501 }));
    expect(res.status, res.text).toBe(202);
    expect(res.body).toEqual({
      data: { id: expect.any(Number), event_type: PARCEL, created_at: expect.any(String), deliveries: 1 },
    });
    const [got] = (await receiver.waitFor(1)).filter((r) => parcelIdOf(r) === 501);
    expect(JSON.parse(got?.body ?? '{}')).toEqual(parcelEvent({ parcelId: 501 }));
    // The tenant sees it as its own event.
    const mine = await h.request('GET', `${EVENTS}/${res.body.data.id}`, { auth: key });
    expect(mine.status).toBe(200);
    expect(mine.body.data.payload).toEqual(parcelEvent({ parcelId: 501 }));
  });

  it('publishes a batch (202) whose events all arrive', async () => {
    const before = receiver.received.length;
    const events = [502, 503, 504].map((parcelId) => parcelEvent({ parcelId }));
    const res = await call('POST', `${publishPath()}/batch`, { events });
    expect(res.status, res.text).toBe(202);
    expect(res.body.data).toHaveLength(3);
    for (const e of res.body.data) expect(e.deliveries).toBe(1);
    await receiver.waitFor(before + 3);
    expect(receiver.received.slice(before).map(parcelIdOf).sort()).toEqual([502, 503, 504]);
  });

  it('validates exactly as v3 does: the same 400 for the same body, nothing created', async () => {
    const before = await eventCount();
    const bad: unknown[] = [
      {},
      { event_type: 'no.such.type', data: {} },
      { event_type: PARCEL },
      { event_type: PARCEL, data: { parcel: {} } },
      { ...parcelEvent(), extra: 1 },
      { ...parcelEvent(), profile: { email: '' } },
    ];
    for (const body of bad) {
      const mine = await call('POST', publishPath(), body);
      const v3 = await h.request('POST', EVENTS, { auth: key, body });
      expect(mine.status, mine.text).toBe(400);
      expect(mine.body).toEqual(v3.body);
      const batch = await call('POST', `${publishPath()}/batch`, { events: [parcelEvent(), body] });
      const v3Batch = await h.request('POST', `${EVENTS}/batch`, { auth: key, body: { events: [parcelEvent(), body] } });
      expect(batch.status, batch.text).toBe(400);
      expect(batch.body).toEqual(v3Batch.body);
    }
    const empty = await call('POST', `${publishPath()}/batch`, { events: [] });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual((await h.request('POST', `${EVENTS}/batch`, { auth: key, body: { events: [] } })).body);
    expect(await eventCount()).toBe(before);
  });

  it('honours Idempotency-Key like v3, in the organization\'s own key space', async () => {
    const body = parcelEvent({ parcelId: 601 });
    const first = await call('POST', publishPath(), body, { 'Idempotency-Key': 'admin-key-1' });
    expect(first.status, first.text).toBe(202);
    const count = await eventCount();
    const again = await call('POST', publishPath(), body, { 'Idempotency-Key': 'admin-key-1' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    // The organization's own endpoint with the same key and body: the same answer.
    const viaV3 = await h.request('POST', EVENTS, { auth: key, body, headers: { 'Idempotency-Key': 'admin-key-1' } });
    expect(viaV3.body).toEqual(first.body);
    expect(await eventCount()).toBe(count);
    const other = await call('POST', publishPath(), parcelEvent({ parcelId: 602 }), { 'Idempotency-Key': 'admin-key-1' });
    expectOneError(other, 409, 'invalid', undefined);
    expect(other.body.errors[0].source).toEqual({ header: 'Idempotency-Key' });
    const onBatch = await call('POST', `${publishPath()}/batch`, { events: [body] }, { 'Idempotency-Key': 'admin-key-1' });
    expect(onBatch.status).toBe(409);
    expect(await eventCount()).toBe(count);
  });

  it('answers 404 for an organization that does not exist, creating nothing', async () => {
    expectOneError(await call('POST', `${ORGS}/987654/events`, parcelEvent()), 404, 'not_found', undefined);
    expectOneError(await call('POST', `${ORGS}/987654/events/batch`, { events: [parcelEvent()] }), 404, 'not_found', undefined);
    expectOneError(await call('POST', `${ORGS}/abc/events`, parcelEvent()), 404, 'not_found', undefined);
  });

  it("suspended: its deliveries wait, unattempted; active again they go out (a paused subscription's stay)", async () => {
    const second = await createHook(h, key, { url: `${receiver.url}?second` });
    expect((await call('PATCH', `${ORGS}/${org.id}`, { status: 'suspended' })).body.data.status).toBe('suspended');
    const before = receiver.received.length;
    const waiting: number[] = [];
    for (const parcelId of [701, 702, 703]) {
      const res = await call('POST', publishPath(), parcelEvent({ parcelId }));
      expect(res.status, res.text).toBe(202);
      expect(res.body.data.deliveries).toBe(2);
      waiting.push(res.body.data.id as number);
    }
    // The worker claims them and parks them, without a request.
    for (const eventId of waiting) {
      await waitUntil(`event ${eventId}'s deliveries to park`, async () => {
        const rows = await deliveriesOf(eventId);
        return rows.length === 2 && rows.every((d) => d.status === 'parked');
      });
    }
    for (const d of (await Promise.all(waiting.map(deliveriesOf))).flat()) {
      expect(d.attempt_count).toBe(0);
      expect(d.last_error).toBe('the organization is suspended');
    }
    await sleep(300);
    expect(receiver.received.length).toBe(before);
    const stats = (await call('GET', `${ADMIN}/stats`)).body.data;
    expect(stats.parked_deliveries).toBe(6);
    // Meanwhile the second subscription is paused (by the operator's database, as its keys answer 401).
    await h.herald.subscriptions.update(org.id, second.subscription.id, { is_active: false });

    expect((await call('PATCH', `${ORGS}/${org.id}`, { status: 'active' })).body.data.status).toBe('active');
    await receiver.waitFor(before + 3);
    expect(receiver.received.slice(before).map(parcelIdOf).sort()).toEqual([701, 702, 703]);
    expect(receiver.received.slice(before).every((r) => r.path === '/hook')).toBe(true);
    for (const eventId of waiting) {
      await waitUntil(`event ${eventId} delivered to the active subscription only`, async () => {
        const rows = await deliveriesOf(eventId);
        const active = rows.find((d) => d.subscription_id === subscriptionId);
        const still = rows.find((d) => d.subscription_id === second.subscription.id);
        return active?.status === 'succeeded' && still?.status === 'parked';
      });
    }
    await sleep(300);
    expect(receiver.received.length).toBe(before + 3);
    expect((await call('GET', `${ADMIN}/stats`)).body.data.parked_deliveries).toBe(3);
    // Resuming the subscription sends what waited for it.
    const resume = await h.request('PATCH', `/api/v3/event-subscriptions/subscriptions/${second.subscription.id}`, {
      auth: key,
      body: { is_active: true },
    });
    expect(resume.status, resume.text).toBe(200);
    await receiver.waitFor(before + 6);
    expect(receiver.received.slice(before + 3).every((r) => r.path === '/hook?second')).toBe(true);
  });
});
