/**
 * `webhook-id` mixes in a random per-database secret: a fresh database that reuses the key
 * (delivery ids start again at 1) never repeats the ids an old one sent, while every process on
 * one database computes the same id for a delivery.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { messageIdFactory } from '../../src/delivery/message-id.js';
import { createHerald } from '../../src/herald.js';
import { createLogger } from '../../src/observability/logger.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { DELIVERIES, createHook, parcelIdOf, publish, waitUntil } from '../delivery/helpers.js';

describe.each(DATABASES)('webhook-id on %s', (kind) => {
  const key = randomBytes(32).toString('base64');
  const heralds: TestHerald[] = [];
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver(ok);
  });
  afterAll(async () => {
    for (const h of heralds.reverse()) await h.close();
    await receiver?.close();
  });

  /** One delivery on a fresh database with `key`: its id and the webhook-id it carried. */
  async function firstDelivery(parcelId: number) {
    const h = await startHerald(kind, { HERALD_SECRET_KEY: key });
    heralds.push(h);
    const org = await h.createOrg();
    await createHook(h, org, { url: receiver.url });
    await publish(h, org, parcelEvent({ parcelId }));
    const got = await waitUntil('the delivery', () => receiver.received.find((r) => parcelIdOf(r) === parcelId));
    const [delivery] = (await h.request('GET', DELIVERIES, { auth: org })).body.data;
    return { h, deliveryId: delivery.id as number, webhookId: String(got.headers['webhook-id']) };
  }

  it('differs between two databases with the same key, for the same delivery id', async () => {
    const a = await firstDelivery(8101);
    const b = await firstDelivery(8102);
    expect(b.deliveryId).toBe(a.deliveryId);
    expect(b.webhookId).not.toBe(a.webhookId);
    expect(a.h.herald.keyring.installationId).not.toBe(b.h.herald.keyring.installationId);
    expect(a.h.herald.keyring.webhookIdSalt).not.toBe(b.h.herald.keyring.webhookIdSalt);
  });

  it('is the same for every process on one database', async () => {
    const [a] = heralds as [TestHerald];
    // A second process on the same database (not through startHerald: its close drops the database).
    const config = loadConfig({ ...a.env, HERALD_LOG_LEVEL: 'silent' });
    const second = await createHerald(config, createLogger('silent'), { workers: false });
    try {
      expect(second.keyring.webhookIdSalt).toBe(a.herald.keyring.webhookIdSalt);
      const sent = receiver.received.find((r) => parcelIdOf(r) === 8101);
      expect(messageIdFactory(second.keyring.webhookIdSalt)(1)).toBe(sent?.headers['webhook-id']);
    } finally {
      await second.close();
    }
  });
});
