/**
 * Rotating a signing secret twice within 24 h keeps both rotated-out secrets valid until their
 * own expiry: deliveries carry one Standard Webhooks signature per valid secret. At most five
 * rotated-out secrets are valid at once; a rotation beyond that is refused.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionColumn } from '../../src/security/sealed-columns.js';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { CONNECTIONS, createHook, headerRecord, parcelIdOf, publish, waitUntil } from '../delivery/helpers.js';

const DAY = 24 * 3_600_000;

describe.each(DATABASES)('signing-secret rotation on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  let receiver: Receiver;
  let connectionId: number;

  const secret = async () => (await h.request('GET', `${CONNECTIONS}/${connectionId}/secret`, { auth: org })).body.data.secret as string;
  const rotate = () => h.request('POST', `${CONNECTIONS}/${connectionId}/secret/rotate`, { auth: org });
  const row = async () =>
    (await h.herald.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow());
  const deliver = async (parcelId: number) => {
    await publish(h, org, parcelEvent({ parcelId }));
    return waitUntil('the delivery', () => receiver.received.find((r) => parcelIdOf(r) === parcelId));
  };
  const verifies = (got: Awaited<ReturnType<typeof deliver>>, key: string) => {
    try {
      new Webhook(key).verify(got.body, headerRecord(got));
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    h = await startHerald(kind);
    org = await h.createOrg();
    receiver = await startReceiver(ok);
    connectionId = (await createHook(h, org, { url: receiver.url })).connection.id;
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('signs with the current secret and both rotated-out ones after two rotations', async () => {
    const s0 = await secret();
    const first = await rotate();
    expect(first.status, first.text).toBe(200);
    const s1 = first.body.data.secret as string;
    const second = await rotate();
    expect(second.status, second.text).toBe(200);
    const s2 = second.body.data.secret as string;
    expect(new Set([s0, s1, s2]).size).toBe(3);
    // Each answer says until when the secret it just rotated out keeps signing.
    for (const res of [first, second]) expect(Math.abs(Date.parse(res.body.data.previous_secret_expires_at) - (Date.now() + DAY))).toBeLessThan(60_000);
    expect(Date.parse(second.body.data.previous_secret_expires_at)).toBeGreaterThanOrEqual(Date.parse(first.body.data.previous_secret_expires_at));

    const got = await deliver(7001);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(3);
    expect([s2, s1, s0].map((s) => verifies(got, s))).toEqual([true, true, true]);
    // The column the delivery cache compares holds the earliest expiry: s0's.
    expect((await row()).previous_secret_expires_at).toBe(Date.parse(first.body.data.previous_secret_expires_at));
  });

  it('drops each rotated-out secret at its own expiry, and moves the cache column to the next one', async () => {
    const stored = await row();
    const at = connectionColumn('previous_secrets_sealed', connectionId);
    const list = h.herald.sealer.openJson<{ secret: string; expires_at: number }[]>(stored.previous_secrets_sealed as string, at);
    expect(list).toHaveLength(2);
    const [s1, s0] = list as [{ secret: string; expires_at: number }, { secret: string; expires_at: number }];
    // s0's 24 hours are over (the row is otherwise untouched, as when time simply passes).
    const expired = Date.now() - 1;
    await h.herald.store.db
      .updateTable('connections')
      .set({
        previous_secrets_sealed: h.herald.sealer.sealJson([s1, { ...s0, expires_at: expired }], at),
        previous_secret_expires_at: expired,
      })
      .where('id', '=', connectionId)
      .execute();
    const got = await deliver(7002);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(got, await secret())).toBe(true);
    expect(verifies(got, s1.secret)).toBe(true);
    expect(verifies(got, s0.secret)).toBe(false);
    await waitUntil('the cache column moved on', async () => (await row()).previous_secret_expires_at === s1.expires_at);
  });

  it('refuses a rotation while five rotated-out secrets are still valid, and changes nothing', async () => {
    for (let i = 0; i < 4; i++) expect((await rotate()).status).toBe(200); // one valid before: five now
    const before = await row();
    const refused = await rotate();
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors[0]).toMatchObject({ status: '400', code: 'invalid' });
    expect(refused.body.errors[0].detail).toMatch(/already has 5 rotated-out signing secrets that are still valid.*the oldest expires at \d{4}-/);
    expect(await row()).toEqual(before);
    const got = await deliver(7003);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(6);
  });
});
