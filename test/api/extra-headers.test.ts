/**
 * Credentials in `extra_headers` (issue 10): every value is sealed at rest (the configuration
 * keeps only the names), sensitive ones come back as "****", the attempt log stores them as
 * [REDACTED], and a PATCH that sends "****" back keeps the stored value.
 */
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { ATTEMPTS, createHook, parcelIdOf, publish, waitUntil } from '../delivery/helpers.js';
import { CONNECTIONS, expectOneError } from './helpers.js';

const marker = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const SECRET = {
  authorization: `Bearer xh-auth-${marker}`,
  session: `xh-session-${marker}`,
  cookie: `sid=xh-cookie-${marker}`,
  apiKey: `xh-apikey-${marker}`,
  replaced: `xh-replaced-${marker}`,
};
/** Not sensitive by its name: shown and logged as it is, and stored sealed all the same. */
const TENANT = `tenant-${marker}`;

async function storedText(h: TestHerald, kind: string): Promise<string> {
  if (kind === 'sqlite') {
    const file = h.env.HERALD_DATABASE_URL?.replace(/^sqlite:/, '') as string;
    return [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('\n');
  }
  const client = new pg.Client({ connectionString: h.env.HERALD_DATABASE_URL });
  await client.connect();
  try {
    const schema = h.env.HERALD_DATABASE_SCHEMA as string;
    const rows = await client.query<{ row: string }>(`select t::text as row from "${schema}".connections t`);
    return rows.rows.map((r) => r.row).join('\n');
  } finally {
    await client.end();
  }
}

describe.each(DATABASES)('extra_headers credentials on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  let receiver: Receiver;
  let hook: { connection: any; subscription: any };

  const received = (parcelId: number) =>
    waitUntil('the delivery', () => receiver.received.find((r) => parcelIdOf(r) === parcelId));

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms' });
    org = await h.createOrg();
    receiver = await startReceiver(ok);
    hook = await createHook(h, org, {
      url: `${receiver.url}`,
      extra_headers: { Authorization: SECRET.authorization, 'X-Session-Id': SECRET.session, Cookie: SECRET.cookie, 'X-Tenant': TENANT },
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('answers sensitive values as "****" and the others as they are', async () => {
    const masked = { Authorization: '****', 'X-Session-Id': '****', Cookie: '****', 'X-Tenant': TENANT };
    expect(hook.connection.configuration.extra_headers).toEqual(masked);
    const got = await h.request('GET', `${CONNECTIONS}/${hook.connection.id}`, { auth: org });
    expect(got.body.data.configuration.extra_headers).toEqual(masked);
    const list = await h.request('GET', CONNECTIONS, { auth: org });
    for (const secret of Object.values(SECRET)) expect(list.text).not.toContain(secret);
  });

  it('stores every value sealed: neither the credentials nor the plain value are in the database', async () => {
    const text = await storedText(h, kind);
    expect(text).toContain('X-Session-Id'); // the names are kept in the clear
    for (const value of [SECRET.authorization, SECRET.session, SECRET.cookie, TENANT]) {
      expect(text.includes(value), `${value} in the database`).toBe(false);
    }
    const [row] = await h.herald.store.db.selectFrom('connections').select(['config', 'extra_headers_sealed']).where('id', '=', hook.connection.id).execute();
    expect(JSON.parse(row!.config).extra_header_names).toEqual(['Authorization', 'X-Session-Id', 'Cookie', 'X-Tenant']);
    expect(row!.extra_headers_sealed).toMatch(/^v2\./);
  });

  it('sends the real values and logs the sensitive ones as [REDACTED]', async () => {
    await publish(h, org, parcelEvent({ parcelId: 9101 }));
    const got = await received(9101);
    expect(got.headers.authorization).toBe(SECRET.authorization);
    expect(got.headers['x-session-id']).toBe(SECRET.session);
    expect(got.headers.cookie).toBe(SECRET.cookie);
    expect(got.headers['x-tenant']).toBe(TENANT);
    const attempts = await waitUntil('the attempt', async () => {
      const res = await h.request('GET', `${ATTEMPTS}?subscription_id=${hook.subscription.id}`, { auth: org });
      return res.body.data.length > 0 ? res : undefined;
    });
    const [attempt] = attempts.body.data;
    expect(attempt.request_headers).toMatchObject({ Authorization: '[REDACTED]', 'X-Session-Id': '[REDACTED]', Cookie: '[REDACTED]', 'X-Tenant': TENANT });
    for (const secret of Object.values(SECRET)) expect(attempts.text).not.toContain(secret);
  });

  it('keeps a stored value when a PATCH sends "****" back, and replaces the others', async () => {
    const patched = await h.request('PATCH', `${CONNECTIONS}/${hook.connection.id}`, {
      auth: org,
      body: { configuration: { extra_headers: { Authorization: '****', 'X-Session-Id': SECRET.replaced, 'X-Tenant': 'beta' } } },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.data.configuration.extra_headers).toEqual({ Authorization: '****', 'X-Session-Id': '****', 'X-Tenant': 'beta' });
    await publish(h, org, parcelEvent({ parcelId: 9102 }));
    const got = await received(9102);
    expect(got.headers.authorization).toBe(SECRET.authorization);
    expect(got.headers['x-session-id']).toBe(SECRET.replaced);
    expect(got.headers['x-tenant']).toBe('beta');
    expect(got.headers.cookie).toBeUndefined(); // extra_headers is replaced as a whole
  });

  it('refuses "****" for a header that has no stored value, changing nothing', async () => {
    const before = await h.request('GET', `${CONNECTIONS}/${hook.connection.id}`, { auth: org });
    const res = await h.request('PATCH', `${CONNECTIONS}/${hook.connection.id}`, {
      auth: org,
      body: { configuration: { extra_headers: { Authorization: '****', 'X-Api-Key': '****' } } },
    });
    expectOneError(
      res,
      400,
      'invalid',
      '/data/configuration/extra_headers/X-Api-Key',
      '"****" stands for a hidden stored value, and the header "X-Api-Key" has none; send its real value.',
    );
    expect((await h.request('GET', `${CONNECTIONS}/${hook.connection.id}`, { auth: org })).body).toEqual(before.body);
  });

  it('still reads extra_headers stored in the clear before migration 0005, and masks them', async () => {
    const legacy = await createHook(h, org, { url: `${receiver.url}`, extra_headers: { 'X-Tenant': 'old' } });
    // As an older Herald stored it: the values inside `config`, nothing sealed.
    const config = { url: receiver.url, auth_type: 'none', extra_headers: { 'X-Api-Key': SECRET.apiKey, 'X-Tenant': 'old' }, retry_attempts: 5, timeout_ms: 10000 };
    await h.herald.store.db
      .updateTable('connections')
      .set({ config: JSON.stringify(config), extra_headers_sealed: null, updated_at: Date.now() + 1000 })
      .where('id', '=', legacy.connection.id)
      .execute();
    const got = await h.request('GET', `${CONNECTIONS}/${legacy.connection.id}`, { auth: org });
    expect(got.body.data.configuration.extra_headers).toEqual({ 'X-Api-Key': '****', 'X-Tenant': 'old' });
    await publish(h, org, parcelEvent({ parcelId: 9103 }));
    const delivered = await waitUntil('the legacy delivery', () =>
      receiver.received.find((r) => parcelIdOf(r) === 9103 && r.headers['x-tenant'] === 'old'),
    );
    expect(delivered.headers['x-api-key']).toBe(SECRET.apiKey);
  });
});
