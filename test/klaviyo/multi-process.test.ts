import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parcelEvent } from '../support/events.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import { type Credentials, DATABASES, dropSchema } from '../support/herald.js';
import { apiRequest, authorize, klaviyoConnection, waitUntil } from './harness.js';
import { HeraldProcess, assertBuilt, createOrgByCli, processEnv } from './processes.js';

const EVENTS = 30;

/**
 * Three `serve --role worker` processes and one `--role api` on one PostgreSQL schema, all
 * finding the same connection's access token expired at the same moment: Klaviyo must see
 * exactly one refresh, and never the rotated-out refresh token.
 */
describe.skipIf(!DATABASES.includes('postgres'))('Klaviyo token refresh across worker processes (postgres)', () => {
  let fake: FakeKlaviyo;
  let env: Record<string, string>;
  let dataDir: string;
  let api: HeraldProcess;
  const workers: HeraldProcess[] = [];
  let org: Credentials;
  const answers: string[] = [];
  const h = {
    request: async (method: string, path: string, options: Parameters<typeof apiRequest>[3] = {}) => {
      const res = await apiRequest(env.HERALD_PUBLIC_URL as string, method, path, options);
      answers.push(res.text);
      return res;
    },
  };

  beforeAll(async () => {
    assertBuilt();
    fake = await startFakeKlaviyo();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-klaviyo-mp-'));
    // Small claims, so that every worker gets a share of the burst.
    env = { ...(await processEnv('postgres', fake, dataDir)), HERALD_CLAIM_BATCH_SIZE: '4' };
    org = await createOrgByCli(env, 'acme');
    api = new HeraldProcess(['serve', '--role', 'api'], env);
    await api.waitFor('herald listening');
  });

  afterAll(async () => {
    await Promise.all([api, ...workers].filter(Boolean).map((p) => p.stop()));
    await fake?.close();
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('refreshes an expired access token exactly once', async () => {
    fake.accessTtlSeconds = 2;
    const { connectionId, subscriptionId } = await klaviyoConnection(h, org);
    await authorize(h, org, connectionId);
    const authorizedAt = Date.now();
    fake.accessTtlSeconds = 3600;
    // Slow refreshes, so that the workers' refresh attempts overlap.
    fake.tokenDelayMs = 1000;

    for (let i = 0; i < 3; i++) workers.push(new HeraldProcess(['serve', '--role', 'worker'], env));
    await Promise.all(workers.map((w) => w.waitFor('herald worker started')));
    // Let the access token expire, on Klaviyo's side and Herald's.
    await new Promise((r) => setTimeout(r, Math.max(0, authorizedAt + 2500 - Date.now())));

    const batch = Array.from({ length: EVENTS }, (_, i) => ({
      ...parcelEvent({ parcelId: 100 + i }),
      profile: { email: `customer${i}@example.com` },
    }));
    const published = await h.request('POST', '/api/v3/event-subscriptions/events/batch', { auth: org, body: { events: batch } });
    expect(published.status, published.text).toBe(202);
    await fake.waitForEvents(EVENTS, 30_000);

    expect(fake.stats.refreshCalls).toBe(1);
    expect(fake.stats.invalidGrants).toBe(0);
    expect(fake.stats.unauthorized).toBe(0);
    expect(fake.stats.duplicates).toBe(0);
    expect(new Set(fake.events.map((e) => e.accessToken)).size).toBe(1);

    await waitUntil(async () => {
      const rows = (await h.request('GET', `/api/v3/event-subscriptions/deliveries?subscription_id=${subscriptionId}&limit=100`, { auth: org })).body.data;
      return rows.length === EVENTS && rows.every((d: any) => d.status === 'succeeded' && d.attempt_count === 1);
    }, 10_000, 'every delivery succeeded at the first attempt');

    // Every worker took part, one refreshed, and at least one other waited on its lease.
    // Results (and their log lines) are written in batches after the requests: wait for them.
    const delivered = () => workers.map((w) => w.lines('delivery attempt').length);
    await waitUntil(() => delivered().reduce((a, b) => a + b, 0) === EVENTS, 10_000, 'a log line per attempt');
    expect(delivered().filter((n) => n > 0).length).toBe(3);
    const refreshed = workers.map((w) => w.lines('refreshed the Klaviyo access token').length);
    expect(refreshed.sort()).toEqual([0, 0, 1]);
    expect(workers.filter((w) => w.lines('waiting for another process to refresh the Klaviyo token').length > 0).length).toBeGreaterThanOrEqual(1);
  });

  it('never writes a token to a log line or an API answer', async () => {
    await h.request('GET', '/api/v3/event-subscriptions/attempts?limit=100', { auth: org });
    const logs = [api, ...workers].map((p) => p.output).join('\n');
    expect(logs).toContain('"level":20'); // debug lines were captured
    const answered = answers.join('\n');
    expect(fake.issued.length).toBe(4);
    for (const secret of [...fake.issued, fake.clientSecret]) {
      expect(logs).not.toContain(secret);
      expect(answered).not.toContain(secret);
    }
  });
});
