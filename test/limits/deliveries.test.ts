import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventService } from '../../src/domain/events.js';
import { HeraldError } from '../../src/domain/errors.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { EVENTS } from '../delivery/helpers.js';
import { markedEvent, parcelEvent, refuseEventsContaining, rows, subscribers } from './helpers.js';

describe.each(DATABASES)('deliveries per request and per commit on %s', (kind) => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_MAX_DELIVERIES_PER_REQUEST: '6' }, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a batch whose fan-out exceeds HERALD_MAX_DELIVERIES_PER_REQUEST, naming the limit and the count, and writes nothing', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 3);
    const fits = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events: [parcelEvent(), parcelEvent()] } });
    expect(fits.status, fits.text).toBe(202);
    expect(await rows(h.herald.store, 'deliveries', org.organization_id)).toBe(6);

    const over = await h.request('POST', `${EVENTS}/batch`, {
      auth: org,
      body: { events: [parcelEvent(), parcelEvent(), parcelEvent()] },
      headers: { 'Idempotency-Key': 'too-big' },
    });
    expect(over.status, over.text).toBe(400);
    expect(over.body.errors).toHaveLength(1);
    const [error] = over.body.errors;
    expect(error).toMatchObject({ status: '400', code: 'invalid', source: { pointer: '/data/events' } });
    expect(error.detail).toContain('9 deliveries');
    expect(error.detail).toContain('at most 6');
    expect(error.detail).toContain('HERALD_MAX_DELIVERIES_PER_REQUEST');
    expect(await rows(h.herald.store, 'events', org.organization_id)).toBe(2);
    expect(await rows(h.herald.store, 'deliveries', org.organization_id)).toBe(6);
    // Not even its key: the same key is free for a request that fits.
    expect(await rows(h.herald.store, 'idempotency_keys', org.organization_id)).toBe(0);
    const retried = await h.request('POST', `${EVENTS}/batch`, {
      auth: org,
      body: { events: [parcelEvent()] },
      headers: { 'Idempotency-Key': 'too-big' },
    });
    expect(retried.status, retried.text).toBe(202);
  });

  it('refuses a single event with more matching subscriptions than the limit', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 7);
    const res = await h.request('POST', EVENTS, { auth: org, body: parcelEvent() });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'invalid', source: { pointer: '/data' } });
    expect(res.body.errors[0].detail).toContain('7 deliveries');
    expect(await rows(h.herald.store, 'events', org.organization_id)).toBe(0);
  });

  it('fills a group commit up to HERALD_MAX_DELIVERIES_PER_COMMIT; the rest wait for the next commit, and an oversized request fails alone', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 4);
    const commits: number[] = [];
    // A second service over the same store and database, with its own limits, that tells
    // what each of its commits created.
    const events = new EventService(
      h.herald.store,
      h.herald.catalog,
      (accepted) => commits.push(accepted.reduce((n, e) => n + e.deliveries, 0)),
      { deliveriesPerRequest: 10, deliveriesPerCommit: 10 },
    );
    const id = org.organization_id;
    // Submitted in one tick: all of them reach the same group commit.
    const results = await Promise.allSettled([
      events.ingest(id, [parcelEvent(), parcelEvent()]), // 8
      events.ingestOne(id, parcelEvent()), // 4: 12 would exceed 10, so the next commit
      events.ingestOne(id, parcelEvent()), // 4
      events.ingest(id, [parcelEvent(), parcelEvent(), parcelEvent()]), // 12: over the per-request bound
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const refused = (results[3] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(HeraldError);
    expect((refused as HeraldError).status).toBe(400);
    expect(commits).toEqual([8, 8]);
    expect(await rows(h.herald.store, 'deliveries', id)).toBe(16);
  });

  it('always fits one request up to the per-request bound, even above the per-commit budget', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 4);
    const commits: number[] = [];
    const events = new EventService(
      h.herald.store,
      h.herald.catalog,
      (accepted) => commits.push(accepted.reduce((n, e) => n + e.deliveries, 0)),
      { deliveriesPerRequest: 8, deliveriesPerCommit: 4 },
    );
    const big = await events.ingest(org.organization_id, [parcelEvent(), parcelEvent()]);
    expect(big.accepted.map((e) => e.deliveries)).toEqual([4, 4]);
    expect(commits).toEqual([8]);
  });

  it('lets small requests gathered with a big one go first, and the big one first in the commit after', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 4);
    const id = org.organization_id;
    const commits: number[][] = [];
    let late: Promise<unknown> | undefined;
    const events: EventService = new EventService(
      h.herald.store,
      h.herald.catalog,
      (accepted) => {
        commits.push(accepted.map((e) => e.deliveries));
        // Arrives while the big batch waits: it must not overtake it a second time.
        late ??= events.ingestOne(id, parcelEvent());
      },
      { deliveriesPerRequest: 8, deliveriesPerCommit: 4 },
    );
    // One tick, the big batch first.
    await Promise.all([events.ingest(id, [parcelEvent(), parcelEvent()]), events.ingestOne(id, parcelEvent())]);
    await late;
    expect(commits).toEqual([[4], [4, 4], [4]]);
  });

  it('fails only the request whose write fails, not the others of its group commit', async () => {
    const org = await h.createOrg();
    await subscribers(h, org, 1);
    await refuseEventsContaining(h.herald.store, 'poison-pill');
    const id = org.organization_id;
    const submit = (i: number, text?: string) => h.herald.events.ingestOne(id, markedEvent(i, text));
    // One tick: one group commit, whose transaction the fourth request makes fail.
    const results = await Promise.allSettled([submit(1), submit(2), submit(3), submit(4, 'poison-pill'), submit(5), submit(6)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[3] as PromiseRejectedResult).reason)).toContain('injected failure');
    expect(await rows(h.herald.store, 'events', id)).toBe(5);
    expect(await rows(h.herald.store, 'deliveries', id)).toBe(5);
    // Over HTTP the failing request is a 500 of its own; the next request is unaffected.
    const [bad, good] = await Promise.all([
      h.request('POST', EVENTS, { auth: org, body: markedEvent(7, 'poison-pill') }),
      h.request('POST', EVENTS, { auth: org, body: markedEvent(8) }),
    ]);
    expect(bad.status, bad.text).toBe(500);
    expect(good.status, good.text).toBe(202);
  });
});
