import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, SUBSCRIPTIONS } from '../delivery/helpers.js';
import { WEBHOOKS, v1 } from '../v1/helpers.js';
import { rows } from './helpers.js';

describe.each(DATABASES)('connections and subscriptions per organization on %s', (kind) => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startHerald(
      kind,
      { HERALD_MAX_CONNECTIONS_PER_ORG: '3', HERALD_MAX_SUBSCRIPTIONS_PER_ORG: '4', HERALD_RATE_LIMIT_API: '0' },
      { workers: false },
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  const createConnection = (org: Credentials, i: number) =>
    h.request('POST', CONNECTIONS, {
      auth: org,
      body: { type: 'webhook', configuration: { url: `http://127.0.0.1:9/hook-${i}`, auth_type: 'none' } },
    });
  const createSubscription = (org: Credentials, connectionId: number, eventType: string) =>
    h.request('POST', SUBSCRIPTIONS, { auth: org, body: { connection_id: connectionId, event_type: eventType } });

  it('refuses a connection beyond HERALD_MAX_CONNECTIONS_PER_ORG, naming the limit; other organizations are not affected', async () => {
    const org = await h.createOrg();
    for (let i = 0; i < 3; i++) expect((await createConnection(org, i)).status).toBe(201);
    const over = await createConnection(org, 3);
    expect(over.status, over.text).toBe(400);
    expect(over.body.errors).toHaveLength(1);
    expect(over.body.errors[0]).toMatchObject({ status: '400', code: 'non_field_errors', source: { pointer: '/data' } });
    expect(over.body.errors[0].detail).toContain('3 connections');
    expect(over.body.errors[0].detail).toContain('HERALD_MAX_CONNECTIONS_PER_ORG');
    expect(await rows(h.herald.store, 'connections', org.organization_id)).toBe(3);
    const other = await h.createOrg();
    expect((await createConnection(other, 0)).status).toBe(201);
  });

  it('refuses a subscription beyond HERALD_MAX_SUBSCRIPTIONS_PER_ORG, naming the limit', async () => {
    const org = await h.createOrg();
    const one = (await createConnection(org, 0)).body.data.id;
    const two = (await createConnection(org, 1)).body.data.id;
    for (const [conn, type] of [
      [one, 'parcels.event.created'],
      [one, 'email.sent'],
      [two, 'parcels.event.created'],
      [two, 'email.sent'],
    ] as const) {
      const res = await createSubscription(org, conn, type);
      expect(res.status, res.text).toBe(201);
    }
    const over = await createSubscription(org, two, 'email.opened');
    expect(over.status, over.text).toBe(400);
    expect(over.body.errors[0]).toMatchObject({ code: 'non_field_errors' });
    expect(over.body.errors[0].detail).toContain('4 subscriptions');
    expect(over.body.errors[0].detail).toContain('HERALD_MAX_SUBSCRIPTIONS_PER_ORG');
    expect(await rows(h.herald.store, 'subscriptions', org.organization_id)).toBe(4);
  });

  it('holds the caps under concurrent creates', async () => {
    const org = await h.createOrg();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => createConnection(org, i)));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(3);
    expect(answers.filter((r) => r.status === 400)).toHaveLength(5);
    expect(await rows(h.herald.store, 'connections', org.organization_id)).toBe(3);
    const connectionId = answers.find((r) => r.status === 201)?.body.data.id as number;
    const types = ['parcels.event.created', 'email.sent', 'email.opened', 'email.clicked', 'email.replied', 'email.bounced'];
    const subs = await Promise.all(types.map((t) => createSubscription(org, connectionId, t)));
    expect(subs.filter((r) => r.status === 201)).toHaveLength(4);
    expect(await rows(h.herald.store, 'subscriptions', org.organization_id)).toBe(4);
  });

  it('applies both caps to /v1/webhooks, in the v1 error format, creating nothing of a refused webhook', async () => {
    const org = await h.createOrg();
    const url = 'https://crm.example.com/hook';
    // One connection plus one subscription per event: 5 events exceed the cap of 4.
    const tooManyEvents = await v1(h, org, 'POST', WEBHOOKS, {
      name: 'Too many',
      url,
      events: ['email.sent', 'email.opened', 'email.clicked', 'email.replied', 'email.bounced'],
    });
    expect(tooManyEvents.status, tooManyEvents.text).toBe(400);
    expect(tooManyEvents.body).toMatchObject({ error: 'Bad Request', code: 400 });
    expect(tooManyEvents.body.message).toContain('HERALD_MAX_SUBSCRIPTIONS_PER_ORG');
    expect(await rows(h.herald.store, 'connections', org.organization_id)).toBe(0);
    expect(await rows(h.herald.store, 'subscriptions', org.organization_id)).toBe(0);

    for (let i = 0; i < 3; i++) {
      const res = await v1(h, org, 'POST', WEBHOOKS, { name: `Hook ${i}`, url, events: ['email.sent'] });
      expect(res.status, res.text).toBe(201);
    }
    const fourth = await v1(h, org, 'POST', WEBHOOKS, { name: 'Hook 4', url, events: ['email.sent'] });
    expect(fourth.status, fourth.text).toBe(400);
    expect(fourth.body.message).toContain('HERALD_MAX_CONNECTIONS_PER_ORG');
    expect(await rows(h.herald.store, 'connections', org.organization_id)).toBe(3);
  });
});
