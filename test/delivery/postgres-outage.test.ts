import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { CONNECTIONS, createHook, publish, sleep, waitUntil } from './helpers.js';

/**
 * Issue 10, defect 6: the server terminating Herald's PostgreSQL sessions (restart, failover,
 * pg_terminate_backend) once raised an unhandled error on an idle pooled connection and
 * killed the process, and the LISTEN connection gave up after one failed reconnect.
 */
describe.runIf(DATABASES.includes('postgres'))('PostgreSQL sessions terminated by the server', () => {
  let h: TestHerald;
  let receiver: Receiver;
  let admin: pg.Client;
  const terminate = async () =>
    admin.query('select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = $1', [
      `herald ${h.env.HERALD_DATABASE_SCHEMA}`,
    ]);
  const listening = async () => {
    const { rows } = await admin.query(
      "select count(*)::int as n from pg_stat_activity where application_name = $1 and query ilike 'LISTEN%'",
      [`herald ${h.env.HERALD_DATABASE_SCHEMA}`],
    );
    return (rows[0] as { n: number }).n;
  };

  beforeAll(async () => {
    h = await startHerald('postgres', { HERALD_POLL_INTERVAL_MS: '60000' });
    receiver = await startReceiver();
    admin = new pg.Client({ connectionString: process.env.HERALD_TEST_POSTGRES_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await receiver?.close();
    await h?.close();
  });

  it('the process survives, the API answers again, and the LISTEN connection comes back', async () => {
    const org = await h.createOrg();
    await createHook(h, org, { url: receiver.url });
    await publish(h, org, parcelEvent({ parcelId: 3001 }));
    await waitUntil('the first delivery', () => receiver.received.length === 1);
    await waitUntil('the LISTEN session', async () => (await listening()) === 1);
    // Idle pooled sessions and the LISTEN session, then again while requests are under way.
    const { rows } = await terminate();
    expect((rows[0] as { n: number }).n).toBeGreaterThan(0);
    await sleep(300);
    const during = Array.from({ length: 20 }, () => h.request('GET', CONNECTIONS, { auth: org }));
    await terminate();
    for (const res of await Promise.all(during)) expect([200, 503]).toContain(res.status);
    const list = await waitUntil('the API to answer again', async () => {
      const res = await h.request('GET', CONNECTIONS, { auth: org });
      // While the pool reconnects an answer may be a 503 in the API's error format, never a 500.
      if (res.status === 503) expect(res.body.errors[0].status).toBe('503');
      else expect(res.status).toBe(200);
      return res.status === 200 ? res : undefined;
    });
    expect(list.body.data).toHaveLength(1);
    await waitUntil('the LISTEN session to be back', async () => (await listening()) === 1, 20_000, 200);
    await publish(h, org, parcelEvent({ parcelId: 3002 }));
    await waitUntil('the delivery after the cut', () => receiver.received.length === 2);
  });
});
