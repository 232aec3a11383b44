/**
 * The deliveries list's filters that the portal's Deliveries screen offers beyond the
 * contract's: by event type (the subscription's) and by creation time, on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, issueKey, newAdminToken } from '../admin/helpers.js';
import { DATABASES, type Credentials, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { V3 } from './helpers.js';

describe.each(DATABASES)('deliveries filtered by event type and time (%s)', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  const token = newAdminToken();

  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHerald(kind, { HERALD_ADMIN_TOKEN: token });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  const call = (key: Credentials, method: string, path: string, body?: unknown) =>
    h.request(method, `${V3}${path}`, { auth: key, ...(body !== undefined ? { body } : {}) });

  /** An organization subscribed to two event types on one connection. */
  async function subscribed(types: string[]) {
    const org = await createOrganization(h, token, { name: `filters-${Math.random().toString(36).slice(2)}` });
    const key = await issueKey(h, token, org.id);
    const connection = (await call(key, 'POST', '/connections', { type: 'webhook', configuration: { url: receiver.url } })).body.data;
    for (const event_type of types) {
      expect((await call(key, 'POST', '/subscriptions', { connection_id: connection.id, event_type })).status).toBe(201);
    }
    return key;
  }

  async function publish(key: Credentials, eventType: string) {
    const catalog = (await call(key, 'GET', '/event-types')).body.data as Array<{ name: string; sample: unknown }>;
    const sample = catalog.find((t) => t.name === eventType)!.sample;
    const res = await call(key, 'POST', '/events', { event_type: eventType, data: sample });
    expect(res.status, res.text).toBe(202);
  }

  const ids = async (key: Credentials, query: string) => {
    const res = await call(key, 'GET', `/deliveries?${query}`);
    expect(res.status, res.text).toBe(200);
    return (res.body.data as Array<{ id: number }>).map((d) => d.id);
  };

  it('by event type: only deliveries to subscriptions of that type, and only the organization\'s own', async () => {
    const key = await subscribed(['parcels.event.created', 'email.sent']);
    // Another organization with the same event type: its deliveries never show.
    const other = await subscribed(['parcels.event.created']);
    await publish(key, 'parcels.event.created');
    await publish(key, 'email.sent');
    await publish(other, 'parcels.event.created');
    const all = await ids(key, '');
    expect(all).toHaveLength(2);
    const subs = (await call(key, 'GET', '/subscriptions')).body.data as Array<{ id: number; event_type: string }>;
    const parcels = (await call(key, 'GET', '/deliveries?event_type=parcels.event.created')).body.data as Array<{ subscription_id: number }>;
    expect(parcels).toHaveLength(1);
    expect(parcels[0]!.subscription_id).toBe(subs.find((s) => s.event_type === 'parcels.event.created')!.id);
    expect(await ids(key, 'event_type=email.sent')).toHaveLength(1);
    expect(await ids(key, 'event_type=email.opened')).toEqual([]);
  });

  it('by creation time: created_after inclusive, created_before exclusive; a bad time is a 400 naming the parameter', async () => {
    const key = await subscribed(['parcels.event.created']);
    await publish(key, 'parcels.event.created');
    const [first] = await ids(key, '');
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await publish(key, 'parcels.event.created');
    const all = await ids(key, '');
    expect(all).toHaveLength(2);
    const second = all.find((id) => id !== first);
    expect(await ids(key, `created_before=${encodeURIComponent(between)}`)).toEqual([first]);
    expect(await ids(key, `created_after=${encodeURIComponent(between)}`)).toEqual([second]);
    expect(await ids(key, `created_after=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    const bad = await call(key, 'GET', '/deliveries?created_after=yesterday');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('created_after');
  });
});
