import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import {
  DELIVERIES,
  ES,
  EVENTS,
  PARCEL,
  createHook,
  listAll,
  parcelIdOf,
  publish,
  publishBatch,
  sleep,
  subscribe,
  waitUntil,
} from './helpers.js';

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe.each(DATABASES)('ingestion on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;
  const at = (path: string) => receiver.received.filter((r) => r.path === `/${path}`);
  const eventCount = async (org: Credentials) => (await listAll(h, org, EVENTS)).length;
  const deliveryCount = async (org: Credentials) => (await listAll(h, org, DELIVERIES)).length;

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('answers 202 with the event and its delivery count', async () => {
    const org = await h.createOrg();
    await createHook(h, org, { url: url('accept-1') });
    await createHook(h, org, { url: url('accept-2') });
    const before = Date.now();
    const res = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 1 }) });
    expect(res.status, res.text).toBe(202);
    expect(Object.keys(res.body)).toEqual(['data']);
    expect(Object.keys(res.body.data).sort()).toEqual(['created_at', 'deliveries', 'event_type', 'id']);
    expect(res.body.data.event_type).toBe(PARCEL);
    expect(res.body.data.deliveries).toBe(2);
    expect(Number.isInteger(res.body.data.id) && res.body.data.id > 0).toBe(true);
    expect(res.body.data.created_at).toMatch(ISO_SECONDS);
    expect(Math.abs(Date.parse(res.body.data.created_at) - before)).toBeLessThan(5000);
    await waitUntil('both receivers', () => at('accept-1').length === 1 && at('accept-2').length === 1);
  });

  it('replays the first answer for a repeated Idempotency-Key and creates nothing more', async () => {
    const org = await h.createOrg();
    await createHook(h, org, { url: url('idem') });
    const headers = { 'Idempotency-Key': 'order-42-shipped' };
    const first = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 42 }), headers });
    expect(first.status, first.text).toBe(202);
    await waitUntil('the first delivery', () => at('idem').length === 1);
    const again = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 42 }), headers });
    expect(again.status, again.text).toBe(202);
    expect(again.body).toEqual(first.body);
    // The key is bound to its body (issue 11): a different body under it is a conflict.
    const changed = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 43 }), headers });
    expect(changed.status, changed.text).toBe(409);
    expect(changed.body.errors[0]).toMatchObject({ status: '409', code: 'invalid' });
    expect(changed.body.errors[0].detail).toContain('order-42-shipped');
    await sleep(400);
    expect(await eventCount(org)).toBe(1);
    expect(await deliveryCount(org)).toBe(1);
    expect(at('idem')).toHaveLength(1);

    // Concurrent repeats of a fresh key: one event, the same answer for all.
    const burst = await Promise.all(
      Array.from({ length: 8 }, () =>
        h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 44 }), headers: { 'Idempotency-Key': 'burst-key' } }),
      ),
    );
    for (const r of burst) {
      expect(r.status, r.text).toBe(202);
      expect(r.body).toEqual(burst[0]!.body);
    }
    await waitUntil('the burst delivery', () => at('idem').length >= 2);
    await sleep(400);
    expect(await eventCount(org)).toBe(2);
    expect(at('idem').map(parcelIdOf)).toEqual([42, 44]);

    // The batch endpoint honours the key as well.
    const batchHeaders = { 'Idempotency-Key': 'batch-key' };
    const events = [parcelEvent({ parcelId: 45 }), parcelEvent({ parcelId: 46 })];
    const b1 = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events }, headers: batchHeaders });
    const b2 = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events }, headers: batchHeaders });
    expect(b1.status, b1.text).toBe(202);
    expect(b2.status, b2.text).toBe(202);
    expect(b2.body).toEqual(b1.body);
    expect(await eventCount(org)).toBe(4);
  });

  it('lets different organizations use the same Idempotency-Key', async () => {
    const a = await h.createOrg();
    const b = await h.createOrg();
    await createHook(h, a, { url: url('idem-a') });
    await createHook(h, b, { url: url('idem-b') });
    const headers = { 'Idempotency-Key': 'shared-key-1' };
    const ra = await h.request('POST', EVENTS, { auth: a, body: parcelEvent({ parcelId: 51 }), headers });
    const rb = await h.request('POST', EVENTS, { auth: b, body: parcelEvent({ parcelId: 52 }), headers });
    expect(ra.status, ra.text).toBe(202);
    expect(rb.status, rb.text).toBe(202);
    expect(rb.body.data.id).not.toBe(ra.body.data.id);
    expect(rb.body.data.deliveries).toBe(1);
    await waitUntil('both deliveries', () => at('idem-a').length === 1 && at('idem-b').length === 1);
    expect(parcelIdOf(at('idem-a')[0]!)).toBe(51);
    expect(parcelIdOf(at('idem-b')[0]!)).toBe(52);
    expect(await eventCount(a)).toBe(1);
    expect(await eventCount(b)).toBe(1);
  });

  it('accepts a batch of 50 events with one delivery per event and subscription', async () => {
    const org = await h.createOrg();
    const one = await createHook(h, org, { url: url('batch-1') });
    const two = await createHook(h, org, { url: url('batch-2') });
    const events = Array.from({ length: 50 }, (_, i) => parcelEvent({ parcelId: 10_000 + i }));
    const accepted = await publishBatch(h, org, events);
    expect(accepted.every((e) => e.deliveries === 2 && e.event_type === PARCEL)).toBe(true);
    expect(new Set(accepted.map((e) => e.id)).size).toBe(50);
    // In order: the i-th answer is the i-th event.
    for (const i of [0, 25, 49]) {
      const ev = await h.request('GET', `${EVENTS}/${accepted[i].id}`, { auth: org });
      expect(ev.body.data.payload.data.parcel.parcel_id).toBe(10_000 + i);
    }
    expect(await deliveryCount(org)).toBe(100);
    expect(await listAll(h, org, DELIVERIES, { subscription_id: one.subscription.id })).toHaveLength(50);
    expect(await listAll(h, org, DELIVERIES, { subscription_id: two.subscription.id })).toHaveLength(50);
    await waitUntil('100 requests', () => at('batch-1').length === 50 && at('batch-2').length === 50);
    const expected = events.map((_, i) => 10_000 + i);
    expect(at('batch-1').map(parcelIdOf).sort()).toEqual(expected);
    expect(at('batch-2').map(parcelIdOf).sort()).toEqual(expected);
  });

  it('refuses a whole batch with one invalid event, pointing at it, and creates nothing', async () => {
    const org = await h.createOrg();
    await createHook(h, org, { url: url('bad-batch') });
    const events: any[] = Array.from({ length: 10 }, (_, i) => parcelEvent({ parcelId: 20_000 + i }));
    events[7].data.parcel.parcel_id = 'not-a-number';
    const res = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events } });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].source).toEqual({ pointer: '/data/events/7/data/parcel/parcel_id' });
    expect(res.body.errors[0].status).toBe('400');

    // An unknown event type inside a batch points at it too.
    const unknown: any[] = [parcelEvent({ parcelId: 20_100 }), { ...parcelEvent(), event_type: 'parcels.event.exploded' }];
    const res2 = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events: unknown } });
    expect(res2.status, res2.text).toBe(400);
    expect(res2.body.errors.map((e: any) => e.source?.pointer)).toContain('/data/events/1/event_type');
    expect(res2.body.errors.find((e: any) => e.source?.pointer === '/data/events/1/event_type').code).toBe('invalid_choice');

    // More than 1000 events are refused as well.
    const tooMany = Array.from({ length: 1001 }, () => ({ event_type: 'email.sent', data: {} }));
    const res3 = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events: tooMany } });
    expect(res3.status, res3.text).toBe(400);

    await sleep(300);
    expect(await eventCount(org)).toBe(0);
    expect(await deliveryCount(org)).toBe(0);
    expect(at('bad-batch')).toHaveLength(0);
  });

  it('refuses a schema-invalid event with a JSON:API pointer, and an unknown event type with invalid_choice', async () => {
    const org = await h.createOrg();
    await createHook(h, org, { url: url('bad-single') });
    const bad: any = parcelEvent();
    bad.data.parcel.parcel_id = 'abc';
    const res = await h.request('POST', EVENTS, { auth: org, body: bad });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ status: '400', code: 'invalid', source: { pointer: '/data/data/parcel/parcel_id' } });

    const missing: any = parcelEvent();
    delete missing.data.event.phase;
    const res2 = await h.request('POST', EVENTS, { auth: org, body: missing });
    expect(res2.status, res2.text).toBe(400);
    expect(res2.body.errors[0]).toMatchObject({ code: 'required', source: { pointer: '/data/data/event/phase' } });

    const unknown = await h.request('POST', EVENTS, { auth: org, body: { ...parcelEvent(), event_type: 'parcels.event.exploded' } });
    expect(unknown.status, unknown.text).toBe(400);
    expect(unknown.body.errors).toHaveLength(1);
    expect(unknown.body.errors[0]).toMatchObject({ code: 'invalid_choice', source: { pointer: '/data/event_type' } });

    await sleep(300);
    expect(await eventCount(org)).toBe(0);
    expect(at('bad-single')).toHaveLength(0);
  });

  it('fans out only to active subscriptions of the event type in the same organization', async () => {
    const org = await h.createOrg();
    const other = await h.createOrg();
    await createHook(h, org, { url: url('fan-active') });
    const paused = await createHook(h, org, { url: url('fan-paused') });
    const patched = await h.request('PATCH', `${ES}/subscriptions/${paused.subscription.id}`, { auth: org, body: { is_active: false } });
    expect(patched.status, patched.text).toBe(200);
    const created = await createHook(h, org, { url: url('fan-created-inactive') });
    await h.request('DELETE', `${ES}/subscriptions/${created.subscription.id}`, { auth: org });
    await subscribe(h, org, created.connection.id, PARCEL, false);
    await createHook(h, org, { url: url('fan-other-type') }, 'email.sent');
    await createHook(h, other, { url: url('fan-other-org') });

    const accepted = await publish(h, org, parcelEvent({ parcelId: 77 }));
    expect(accepted.deliveries).toBe(1);
    await waitUntil('the active subscription', () => at('fan-active').length === 1);
    await sleep(500);
    for (const p of ['fan-paused', 'fan-created-inactive', 'fan-other-type', 'fan-other-org']) expect(at(p), p).toHaveLength(0);
    expect(await deliveryCount(org)).toBe(1);
    expect(await deliveryCount(other)).toBe(0);
    expect(await eventCount(other)).toBe(0);
  });

  it('lists events newest first with filters and cursor pagination, and shows one with its payload', async () => {
    const org = await h.createOrg();
    const early = [];
    for (let i = 0; i < 3; i++) early.push(await publish(h, org, parcelEvent({ parcelId: 900 + i })));
    early.push(await publish(h, org, { event_type: 'email.sent', data: { id: 'e1' } }));
    await sleep(30);
    const cut = new Date();
    await sleep(30);
    const late = [];
    for (let i = 0; i < 2; i++) late.push(await publish(h, org, parcelEvent({ parcelId: 910 + i })));
    late.push(await publish(h, org, { event_type: 'email.sent', data: { id: 'e2' } }));
    const allIds = [...early, ...late].map((e) => e.id).sort((a, b) => b - a);

    const paged: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; text: string; body: any } = await h.request('GET', `${EVENTS}?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { auth: org });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(3);
      for (const e of res.body.data) {
        expect(Object.keys(e).sort()).toEqual(['created_at', 'deliveries', 'event_type', 'id']);
        expect(e.created_at).toMatch(ISO_SECONDS);
      }
      paged.push(...res.body.data.map((e: any) => e.id));
      cursor = res.body.meta.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(paged).toEqual(allIds);
    expect(pages).toBe(3);

    const emails = await listAll(h, org, EVENTS, { event_type: 'email.sent' });
    expect(emails.map((e) => e.id)).toEqual([late[2].id, early[3].id]);
    const after = await listAll(h, org, EVENTS, { created_after: cut.toISOString() });
    expect(after.map((e) => e.id)).toEqual(late.map((e) => e.id).reverse());
    const before = await listAll(h, org, EVENTS, { created_before: cut.toISOString() });
    expect(before.map((e) => e.id)).toEqual(early.map((e) => e.id).reverse());
    const parcelsAfter = await listAll(h, org, EVENTS, { event_type: PARCEL, created_after: cut.toISOString() });
    expect(parcelsAfter.map((e) => e.id)).toEqual([late[1].id, late[0].id]);
    const bad = await h.request('GET', `${EVENTS}?created_after=yesterday`, { auth: org });
    expect(bad.status).toBe(400);

    const one = await h.request('GET', `${EVENTS}/${early[0].id}`, { auth: org });
    expect(one.status, one.text).toBe(200);
    expect(one.body.data).toMatchObject({ id: early[0].id, event_type: PARCEL, deliveries: 0 });
    expect(one.body.data.payload).toEqual(parcelEvent({ parcelId: 900 }));
    const stranger = await h.createOrg();
    expect((await h.request('GET', `${EVENTS}/${early[0].id}`, { auth: stranger })).status).toBe(404);
    expect(await listAll(h, stranger, EVENTS)).toEqual([]);
  });

  it('lists the event types, parcels.event.created among them with its schema', async () => {
    const org = await h.createOrg();
    const res = await h.request('GET', `${ES}/event-types`, { auth: org });
    expect(res.status, res.text).toBe(200);
    const parcel = res.body.data.find((t: any) => t.name === PARCEL);
    expect(parcel).toBeDefined();
    expect(typeof parcel.description).toBe('string');
    expect(parcel.schema.type).toBe('object');
    expect(parcel.schema.required).toEqual(expect.arrayContaining(['parcel', 'event']));
    expect((await h.request('GET', `${ES}/event-types`)).status).toBe(401);
  });
});
