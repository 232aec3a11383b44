import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldError } from '../../src/domain/errors.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { EVENTS } from '../delivery/helpers.js';
import { markedEvent, parcelEvent, rows, subscribers } from './helpers.js';

describe.each(DATABASES)('Idempotency-Key bound to its request on %s', (kind) => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 409 for the same key with a different body, naming the key, and creates nothing', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 1);
    const headers = { 'Idempotency-Key': 'order-7-shipped' };
    const first = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 7 }), headers });
    expect(first.status, first.text).toBe(202);

    const changed = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 8 }), headers });
    expect(changed.status, changed.text).toBe(409);
    expect(changed.body.errors).toHaveLength(1);
    expect(changed.body.errors[0]).toMatchObject({ status: '409', code: 'invalid', source: { header: 'Idempotency-Key' } });
    expect(changed.body.errors[0].detail).toContain('"order-7-shipped"');
    // The same key on the batch endpoint is another request too.
    const asBatch = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events: [parcelEvent({ parcelId: 7 })] }, headers });
    expect(asBatch.status, asBatch.text).toBe(409);
    expect(await rows(h.herald.store, 'events', org.organization_id)).toBe(1);
    expect(await rows(h.herald.store, 'deliveries', org.organization_id)).toBe(1);

    // The same body, its keys in another order and spaced differently, is the same request: replayed.
    const reordered = `{ "data": ${JSON.stringify(parcelEvent({ parcelId: 7 }).data)},  "event_type": "parcels.event.created" }`;
    const again = await h.request('POST', EVENTS, { auth: org, raw: reordered, headers: { ...headers, 'content-type': 'application/json' } });
    expect(again.status, again.text).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(await rows(h.herald.store, 'events', org.organization_id)).toBe(1);
  });

  it('decides inside one group commit too: a repeat shares the answer, a different body gets 409, the others commit', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 1);
    const id = org.organization_id;
    const events = h.herald.events;
    // One tick: one group commit.
    const results = await Promise.allSettled([
      events.ingestOne(id, markedEvent(1), 'k-a'),
      events.ingestOne(id, markedEvent(2), 'k-a'), // other body, same key
      events.ingestOne(id, markedEvent(1), 'k-a'), // a true repeat
      events.ingestOne(id, markedEvent(3), 'k-b'),
      events.ingestOne(id, markedEvent(4)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    const conflict = (results[1] as PromiseRejectedResult).reason as HeraldError;
    expect(conflict).toBeInstanceOf(HeraldError);
    expect(conflict.status).toBe(409);
    const [a, , repeat] = results as PromiseFulfilledResult<Awaited<ReturnType<typeof events.ingestOne>>>[];
    expect(repeat?.value.accepted).toEqual(a?.value.accepted);
    expect(repeat?.value.replayed).toBe(true);
    expect(await rows(h.herald.store, 'events', id)).toBe(3);
    expect(await rows(h.herald.store, 'idempotency_keys', id)).toBe(2);
  });

  it('replays a key stored before request hashes existed, whatever the body', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 1);
    const headers = { 'Idempotency-Key': 'legacy-key' };
    const first = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 1 }), headers });
    expect(first.status, first.text).toBe(202);
    await sql`update idempotency_keys set request_hash = null where organization_id = ${org.organization_id}`.execute(h.herald.store.db);
    const again = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 2 }), headers });
    expect(again.status, again.text).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(await rows(h.herald.store, 'events', org.organization_id)).toBe(1);
  });
});
