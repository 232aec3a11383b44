/**
 * Endpoint credentials (bearer tokens, basic passwords, API keys) are never stored in the
 * clear and never returned by the API. The SQLite file (and its write-ahead log) is read
 * byte by byte; on PostgreSQL every row of every table of the schema is read as text.
 */
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, SUBSCRIPTIONS } from './helpers.js';

const marker = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const SECRETS = {
  bearerToken: `bearer-token-${marker}-Q7`,
  basicPassword: `basic-password-${marker}-W3`,
  apiKey: `api-key-value-${marker}-Z9`,
  rotatedToken: `rotated-bearer-${marker}-K4`,
  patchedPassword: `patched-password-${marker}-M2`,
};
/** Not secret: stored as given, so its presence proves the bytes read are the right ones. */
const URL_MARKER = `https://example.com/hooks/${marker}`;

/** Every byte Herald keeps in the database, as latin1 text (so any UTF-8 secret is found as is). */
async function storedText(h: TestHerald, kind: string): Promise<string> {
  if (kind === 'sqlite') {
    const file = h.env.HERALD_DATABASE_URL?.replace(/^sqlite:/, '') as string;
    expect(existsSync(file), `${file} exists`).toBe(true);
    const parts = [file, `${file}-wal`, `${file}-journal`].filter((f) => existsSync(f));
    return parts.map((f) => readFileSync(f).toString('latin1')).join('\n');
  }
  const schema = h.env.HERALD_DATABASE_SCHEMA as string;
  const client = new pg.Client({ connectionString: h.env.HERALD_DATABASE_URL });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1',
      [schema],
    );
    expect(tables.rows.length).toBeGreaterThan(0);
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

describe.each(DATABASES)('secrets at rest on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  const answers: string[] = [];
  const ids: number[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await h.request(method, path, { auth: org, ...(body !== undefined ? { body } : {}) });
    expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    answers.push(res.text);
    return res;
  };

  beforeAll(async () => {
    h = await startHerald(kind);
    org = await h.createOrg();
    const configs = [
      { url: URL_MARKER, auth_type: 'bearer', auth_config: { token: SECRETS.bearerToken } },
      { url: `${URL_MARKER}/basic`, auth_type: 'basic', auth_config: { username: 'herald', password: SECRETS.basicPassword } },
      { url: `${URL_MARKER}/key`, auth_type: 'api_key', auth_config: { header_name: 'X-Api-Key', api_key: SECRETS.apiKey } },
    ];
    for (const configuration of configs) {
      const res = await call('POST', CONNECTIONS, { type: 'webhook', configuration });
      expect(res.status).toBe(201);
      ids.push(res.body.data.id);
    }
    for (const id of ids) {
      await call('POST', SUBSCRIPTIONS, { connection_id: id, event_type: 'parcels.event.created' });
      await call('GET', `${CONNECTIONS}/${id}`);
    }
    // New credentials by PATCH, and a PATCH that leaves them alone.
    await call('PATCH', `${CONNECTIONS}/${ids[0]}`, { configuration: { auth_config: { token: SECRETS.rotatedToken } } });
    await call('PATCH', `${CONNECTIONS}/${ids[1]}`, {
      configuration: { auth_config: { username: 'herald', password: SECRETS.patchedPassword } },
    });
    await call('PATCH', `${CONNECTIONS}/${ids[2]}`, { configuration: { extra_headers: { 'X-Tenant': 'acme' } } });
    await call('GET', CONNECTIONS);
    await call('GET', `${CONNECTIONS}?connection_type=webhook`);
    await call('GET', `${CONNECTIONS}/type/webhook`);
    await call('GET', SUBSCRIPTIONS);
  });
  afterAll(() => h.close());

  it('the bytes read are the database (a non-secret value is found in them)', async () => {
    expect(await storedText(h, kind)).toContain(URL_MARKER);
  });

  it.each(Object.entries(SECRETS))('the %s is not in the database', async (_name, secret) => {
    const text = await storedText(h, kind);
    expect(text.includes(secret), `${secret} found in the database`).toBe(false);
    // Nor an obvious encoding of it.
    expect(text.includes(Buffer.from(secret).toString('base64'))).toBe(false);
    expect(text.includes(Buffer.from(secret).toString('hex'))).toBe(false);
  });

  it("the organization's secret key and an access token are not in the database", async () => {
    const issued = await h.request('POST', '/oauth2/token', {
      raw: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: org.basic },
    });
    expect(issued.status).toBe(200);
    const text = await storedText(h, kind);
    expect(text.includes(org.secret_key)).toBe(false);
    expect(text.includes(issued.body.access_token)).toBe(false);
    expect(text).toContain(org.public_key);
  });

  it('no API answer carries a secret or auth_config', () => {
    expect(answers.length).toBeGreaterThanOrEqual(16);
    for (const text of answers) {
      for (const secret of Object.values(SECRETS)) expect(text.includes(secret), text).toBe(false);
      expect(text).not.toContain('auth_config');
      expect(text).not.toContain('"password"');
      expect(text).not.toContain('"token"');
    }
  });

  it('the credentials are still in force after the PATCHes (auth_type kept, answers unchanged otherwise)', async () => {
    const list = await h.request('GET', CONNECTIONS, { auth: org });
    expect(list.body.data.map((c: { configuration: { auth_type: string } }) => c.configuration.auth_type)).toEqual([
      'bearer',
      'basic',
      'api_key',
    ]);
    expect(list.body.data[2].configuration.extra_headers).toEqual({ 'X-Tenant': 'acme' });
  });
});
