import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald } from '../support/herald.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { DELIVERIES, createHook, getDelivery, listAll, publish, waitUntil } from './helpers.js';

/** Issue 10, defect 10: an attempt cut short by shutdown is released, not counted against the delivery. */
describe('shutdown with requests in flight', () => {
  let receiver: Receiver;
  let dir: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    dir = mkdtempSync(join(tmpdir(), 'herald-shutdown-'));
  });
  afterAll(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('requests still out after HERALD_SHUTDOWN_GRACE_MS are released: after a restart they are delivered, with no failed attempt', async () => {
    const shared = {
      HERALD_DATABASE_URL: `sqlite:${join(dir, 'herald.db')}`,
      HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
      HERALD_SHUTDOWN_GRACE_MS: '500',
    };
    const first = await startHerald('sqlite', shared);
    const org = await first.createOrg();
    // No retries at all: an aborted attempt counted as a failure would fail the delivery for good.
    const hook = await createHook(first, org, { url: receiver.url, retry_attempts: 0, timeout_ms: 10_000 });
    receiver.respond(() => undefined); // never answers
    await publish(first, org, parcelEvent({ parcelId: 1001 }));
    await waitUntil('the request in flight', () => receiver.received.length === 1);
    const [d] = await listAll(first, org, DELIVERIES, { subscription_id: hook.subscription.id });
    await first.close();

    receiver.respond(ok);
    const second = await startHerald('sqlite', shared);
    try {
      const done = await waitUntil('the released delivery to succeed after the restart', async () => {
        const row = await getDelivery(second, org, d.id);
        return row.status === 'succeeded' ? row : undefined;
      });
      expect(done.attempt_count).toBe(1);
      expect(done.attempts).toHaveLength(1);
      expect(done.attempts[0].response_status).toBe(200);
      expect(receiver.received).toHaveLength(2);
    } finally {
      await second.close();
    }
  });
});
