import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, type Received, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { CONNECTIONS, DELIVERIES, createHook, headerRecord, parcelIdOf, publish, waitUntil } from './helpers.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe.each(DATABASES)('headers and signing on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`;
  const at = (path: string) => receiver.received.filter((r) => r.path === `/${path}`);
  const secretOf = async (org: any, connectionId: number): Promise<string> => {
    const res = await h.request('GET', `${CONNECTIONS}/${connectionId}/secret`, { auth: org });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    return res.body.data.secret;
  };

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('delivers the event body with every header and a signature that verifies', async () => {
    receiver.respond(ok);
    const org = await h.createOrg();
    const { connection } = await createHook(h, org, { url: url('all-headers') });
    const event = parcelEvent({ parcelId: 1001 });
    const before = Math.floor(Date.now() / 1000);
    await publish(h, org, event);
    const got = (await waitUntil('the delivery', () => at('all-headers')[0])) as Received;
    const after = Math.ceil(Date.now() / 1000);

    expect(got.method).toBe('POST');
    expect(JSON.parse(got.body)).toEqual(event);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['user-agent']).toBe(`Herald/${VERSION}`);
    expect(got.headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]+$/);
    const ts = Number(got.headers['webhook-timestamp']);
    expect(Number.isInteger(ts), String(got.headers['webhook-timestamp'])).toBe(true);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(got.headers.authorization).toBeUndefined();

    const secret = await secretOf(org, connection.id);
    expect(new Webhook(secret).verify(got.body, headerRecord(got))).toEqual(event);
    // The check can fail: another secret, or a body changed by one byte, does not verify.
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(got.body, headerRecord(got))).toThrow();
    expect(() => new Webhook(secret).verify(`${got.body} `, headerRecord(got))).toThrow();
  });

  it('sends each auth type as configured, with extra_headers', async () => {
    receiver.respond(ok);
    const org = await h.createOrg();
    const extra = { 'X-Tenant': 'acme', 'X-Trace-Id': 'abc-123' };
    const none = await createHook(h, org, { url: url('auth-none'), auth_type: 'none', extra_headers: extra });
    const bearer = await createHook(h, org, {
      url: url('auth-bearer'),
      auth_type: 'bearer',
      auth_config: { token: 'tok-3f9a' },
      extra_headers: extra,
    });
    const basic = await createHook(h, org, {
      url: url('auth-basic'),
      auth_type: 'basic',
      auth_config: { username: 'alice', password: 'p@ss:w0rd' },
      extra_headers: extra,
    });
    const apiKey = await createHook(h, org, {
      url: url('auth-api-key'),
      auth_type: 'api_key',
      auth_config: { header_name: 'X-Api-Key', api_key: 'key-77c1' },
      extra_headers: extra,
    });
    const accepted = await publish(h, org, parcelEvent({ parcelId: 2002 }));
    expect(accepted.deliveries).toBe(4);
    await waitUntil('four deliveries', () =>
      ['auth-none', 'auth-bearer', 'auth-basic', 'auth-api-key'].every((p) => at(p).length === 1),
    );

    const [n] = at('auth-none') as [Received];
    const [b] = at('auth-bearer') as [Received];
    const [ba] = at('auth-basic') as [Received];
    const [k] = at('auth-api-key') as [Received];
    expect(n.headers.authorization).toBeUndefined();
    expect(n.headers['x-api-key']).toBeUndefined();
    expect(b.headers.authorization).toBe('Bearer tok-3f9a');
    expect(ba.headers.authorization).toBe(`Basic ${Buffer.from('alice:p@ss:w0rd').toString('base64')}`);
    expect(k.headers['x-api-key']).toBe('key-77c1');
    expect(k.headers.authorization).toBeUndefined();
    for (const [r, hook] of [
      [n, none],
      [b, bearer],
      [ba, basic],
      [k, apiKey],
    ] as const) {
      expect(r.headers['x-tenant']).toBe('acme');
      expect(r.headers['x-trace-id']).toBe('abc-123');
      expect(r.headers['content-type']).toBe('application/json');
      const secret = await secretOf(org, hook.connection.id);
      expect(() => new Webhook(secret).verify(r.body, headerRecord(r)), r.path).not.toThrow();
    }
    // Four deliveries of one event: four different webhook-ids.
    expect(new Set([n, b, ba, k].map((r) => r.headers['webhook-id'])).size).toBe(4);
  });

  it('signs with both the new and the previous secret during a rotation', async () => {
    receiver.respond(ok);
    const org = await h.createOrg();
    const { connection } = await createHook(h, org, { url: url('rotation') });
    const oldSecret = await secretOf(org, connection.id);
    const rotated = await h.request('POST', `${CONNECTIONS}/${connection.id}/secret/rotate`, { auth: org });
    expect(rotated.status, rotated.text).toBe(200);
    const newSecret = rotated.body.data.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(await secretOf(org, connection.id)).toBe(newSecret);
    const expires = Date.parse(rotated.body.data.previous_secret_expires_at);
    expect(Math.abs(expires - (Date.now() + 24 * 3_600_000))).toBeLessThan(60_000);

    await publish(h, org, parcelEvent({ parcelId: 3003 }));
    const got = (await waitUntil('the delivery', () => at('rotation')[0])) as Received;
    const signatures = String(got.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    for (const s of signatures) expect(s).toMatch(/^v1,/);
    expect(() => new Webhook(newSecret).verify(got.body, headerRecord(got))).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(got.body, headerRecord(got))).not.toThrow();
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(got.body, headerRecord(got))).toThrow();
  });

  it('keeps webhook-id across the retries of one delivery and varies it between deliveries', async () => {
    const org = await h.createOrg();
    const { subscription } = await createHook(h, org, { url: url('retry-ids'), retry_attempts: 3 });
    const seen = new Map<number, number>();
    receiver.respond((req, res) => {
      if (req.path !== '/retry-ids') return ok(req, res);
      const parcel = parcelIdOf(req);
      const n = (seen.get(parcel) ?? 0) + 1;
      seen.set(parcel, n);
      // Each delivery fails twice, then succeeds.
      res.writeHead(n <= 2 ? 500 : 200).end(n <= 2 ? 'not yet' : 'ok');
    });
    await publish(h, org, parcelEvent({ parcelId: 4001 }));
    await publish(h, org, parcelEvent({ parcelId: 4002 }));
    await waitUntil('three attempts of each delivery', () => at('retry-ids').length >= 6);

    const byParcel = (p: number) => at('retry-ids').filter((r) => parcelIdOf(r) === p);
    const first = byParcel(4001);
    const second = byParcel(4002);
    expect(first).toHaveLength(3);
    expect(second).toHaveLength(3);
    const firstIds = new Set(first.map((r) => r.headers['webhook-id']));
    const secondIds = new Set(second.map((r) => r.headers['webhook-id']));
    expect(firstIds.size).toBe(1);
    expect(secondIds.size).toBe(1);
    expect([...firstIds][0]).not.toBe([...secondIds][0]);
    // Every retry is signed afresh and verifies.
    const { connection_id: connectionId } = subscription;
    const secret = await secretOf(org, connectionId);
    for (const r of [...first, ...second]) expect(() => new Webhook(secret).verify(r.body, headerRecord(r))).not.toThrow();

    const deliveries = await waitUntil('both deliveries succeeded', async () => {
      const list = (await h.request('GET', `${DELIVERIES}?subscription_id=${subscription.id}`, { auth: org })).body.data as any[];
      return list.length === 2 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    });
    for (const d of deliveries) expect(d.attempt_count).toBe(3);
  });
});
