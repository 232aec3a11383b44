/**
 * Klaviyo tokens are sealed at rest and never shown: not in the database (the SQLite file and
 * its write-ahead log byte by byte; every PostgreSQL row as text), not in an API answer, not
 * in a log line. Herald runs as the built `serve` process with debug logs captured.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parcelEvent } from '../support/events.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import { type Credentials, DATABASES, type DatabaseKind, dropSchema } from '../support/herald.js';
import { CONNECTIONS, apiRequest, followAuthorization, klaviyoConnection, startAuthorization, waitUntil } from './harness.js';
import { HeraldProcess, assertBuilt, createOrgByCli, processEnv } from './processes.js';

/** Every byte Herald keeps in the database, as latin1 text (so any ASCII token is found as is). */
async function storedText(kind: DatabaseKind, env: Record<string, string>): Promise<string> {
  if (kind === 'sqlite') {
    const file = (env.HERALD_DATABASE_URL as string).replace(/^sqlite:/, '');
    return [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('\n');
  }
  const client = new pg.Client({ connectionString: env.HERALD_DATABASE_URL });
  await client.connect();
  try {
    const schema = env.HERALD_DATABASE_SCHEMA as string;
    const tables = await client.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1',
      [schema],
    );
    const texts: string[] = [];
    for (const { table_name: table } of tables.rows) {
      const rows = await client.query<{ row: string }>(`select t::text as row from "${schema}"."${table}" t`);
      texts.push(...rows.rows.map((r) => r.row));
    }
    return texts.join('\n');
  } finally {
    await client.end();
  }
}

describe.each(DATABASES)('Klaviyo secrets on %s', (kind) => {
  let fake: FakeKlaviyo;
  let env: Record<string, string>;
  let dataDir: string;
  let herald: HeraldProcess;
  let org: Credentials;
  const answers: string[] = [];
  const states: string[] = [];
  const h = {
    request: async (method: string, path: string, options: Parameters<typeof apiRequest>[3] = {}) => {
      const res = await apiRequest(env.HERALD_PUBLIC_URL as string, method, path, options);
      answers.push(res.text);
      return res;
    },
  };
  const tokens = () => [...fake.issued, fake.clientSecret];
  /** The state is in the authorization URL the API hands out, but is stored only hashed. */
  const secrets = () => [...tokens(), ...states];

  beforeAll(async () => {
    assertBuilt();
    fake = await startFakeKlaviyo();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-klaviyo-secrets-'));
    env = await processEnv(kind, fake, dataDir);
    org = await createOrgByCli(env, 'acme');
    herald = new HeraldProcess(['serve', '--role', 'all'], env);
    await herald.waitFor('herald listening');
  });
  afterAll(async () => {
    await herald?.stop();
    await fake?.close();
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every token out of the database, the API and the logs', async () => {
    const { connectionId, subscriptionId } = await klaviyoConnection(h, org);
    const url = await startAuthorization(h, org, connectionId);
    states.push(new URL(url).searchParams.get('state') as string);
    expect((await followAuthorization(url)).status).toBe(200);
    const publish = (parcelId: number) =>
      h.request('POST', '/api/v3/event-subscriptions/events', {
        auth: org,
        body: { ...parcelEvent({ parcelId }), profile: { email: 'jane@example.com' } },
      });
    await publish(1);
    await fake.waitForEvents(1);
    // A 401 makes Herald refresh: a rotated refresh token and a second access token exist too.
    fake.expireAccessTokens();
    await publish(2);
    await fake.waitForEvents(2);
    expect(fake.stats.refreshCalls).toBe(1);
    expect(fake.issued).toHaveLength(4);
    await h.request('POST', `/api/v3/event-subscriptions/broadcast/test/${subscriptionId}`, { auth: org });
    await waitUntil(() => herald.lines('delivery attempt').length === 2, 10_000, 'both attempts logged');
    for (const path of [CONNECTIONS, `${CONNECTIONS}/${connectionId}`, '/api/v3/event-subscriptions/deliveries', '/api/v3/event-subscriptions/attempts']) {
      expect((await h.request('GET', path, { auth: org })).status).toBe(200);
    }

    const stored = await storedText(kind, env);
    // The right bytes were read: the connection and its sealed grant are in there.
    expect(stored).toContain('klaviyo');
    expect(stored).toMatch(/v2\.[0-9a-f]{12}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{100,}/);
    expect(herald.lines('refreshed the Klaviyo access token')).toHaveLength(1);
    expect(herald.output).toContain('"level":20');
    const answered = answers.join('\n');
    for (const secret of secrets()) {
      expect(stored, 'database').not.toContain(secret);
      expect(herald.output, 'log lines').not.toContain(secret);
    }
    for (const token of tokens()) expect(answered, 'API answers').not.toContain(token);
  });

  it('revokes at Klaviyo on delete, and still leaks nothing once the process has stopped', async () => {
    const conn = (await h.request('GET', CONNECTIONS, { auth: org })).body.data[0];
    expect((await h.request('DELETE', `${CONNECTIONS}/${conn.id}`, { auth: org })).status).toBe(204);
    expect(fake.stats.revocations).toBe(1);
    // The log line travels through the child's stdout pipe, which may lag the HTTP answer.
    await waitUntil(() => herald.lines('revoked the Klaviyo tokens of a deleted connection').length === 1, 5000, 'the revoke log line');
    await herald.stop();
    const stored = await storedText(kind, env);
    for (const secret of secrets()) {
      expect(stored, 'database').not.toContain(secret);
      expect(herald.output, 'log lines').not.toContain(secret);
    }
  });
});
