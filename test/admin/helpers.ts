import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Credentials, RequestOptions, TestHerald } from '../support/herald.js';

export const ADMIN = '/admin/v1';
export const ORGS = `${ADMIN}/organizations`;

/** A fresh admin token of 43 characters (HERALD_ADMIN_TOKEN needs at least 32). */
export const newAdminToken = () => randomBytes(32).toString('base64url');

type Api = Pick<TestHerald, 'request'>;

/** An admin call with `Authorization: Bearer <token>`. */
export function admin(h: Api, token: string, method: string, path: string, options: Omit<RequestOptions, 'auth'> = {}) {
  return h.request(method, path, { ...options, auth: `Bearer ${token}` });
}

export async function createOrganization(h: Api, token: string, body: Record<string, unknown>) {
  const res = await admin(h, token, 'POST', ORGS, { body });
  expect(res.status, res.text).toBe(201);
  return res.body.data;
}

/** A key pair issued through the admin API, as Credentials for the tenant's API. */
export async function issueKey(h: Api, token: string, organizationId: number, body: Record<string, unknown> = {}): Promise<Credentials & { id: number }> {
  const res = await admin(h, token, 'POST', `${ORGS}/${organizationId}/keys`, { body });
  expect(res.status, res.text).toBe(201);
  const key = res.body.data;
  return {
    id: key.id,
    organization_id: organizationId,
    public_key: key.public_key,
    secret_key: key.secret_key,
    basic: `Basic ${Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64')}`,
  };
}

/** An OAuth2 access token minted with the key pair. */
export async function mintToken(h: Api, key: Credentials): Promise<string> {
  const res = await h.request('POST', '/oauth2/token', {
    auth: key,
    raw: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(res.status, res.text).toBe(200);
  return res.body.access_token;
}

/** Rows of an organization per table that has an organization_id (plus oauth_states by its connections). */
export async function rowsOf(h: TestHerald, organizationId: number): Promise<Record<string, number>> {
  const db = h.herald.store.db;
  const tables = ['api_keys', 'access_tokens', 'connections', 'subscriptions', 'events', 'idempotency_keys', 'deliveries', 'attempts', 'oauth_states'] as const;
  const out: Record<string, number> = {};
  for (const table of tables) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', organizationId)
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  const org = await db.selectFrom('organizations').select('id').where('id', '=', organizationId).execute();
  out.organizations = org.length;
  return out;
}
