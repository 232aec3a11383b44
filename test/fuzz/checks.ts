/**
 * What every answer must satisfy: an error in the dialect's format, and a database that a
 * refused request left exactly as it was.
 */
import { STATUS_CODES } from 'node:http';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { parse } from 'yaml';
import type { Herald } from '../../src/herald.js';
import { createBodyAjv } from '../../src/domain/validation.js';
import { SPEC_FILE } from '../api/helpers.js';
import type { Dialect } from './operations.js';

/** The reference's JSON:API error object (codes, status, detail, source), from the contract itself. */
const reference = parse(readFileSync(SPEC_FILE, 'utf8'));
const ajv = createBodyAjv();
const errorObject = ajv.compile<{ status: string }>({
  ...reference.components.schemas.ErrorObject,
  required: ['status', 'code', 'detail'],
  additionalProperties: false,
  properties: {
    ...reference.components.schemas.ErrorObject.properties,
    source: { ...reference.components.schemas.ErrorObject.properties.source, additionalProperties: false, minProperties: 1 },
  },
});

export interface Answer {
  status: number;
  contentType: string;
  text: string;
}

/** Problems with a 4xx answer's body, empty when it is in the dialect's format. */
export function errorFormatProblems(dialect: Dialect, path: string, res: Answer): string[] {
  if (dialect === 'html' && res.status !== 431) {
    // The OAuth callback answers a browser: its errors are a page, by design. (A 431 is
    // answered by the HTTP parser before any route, in JSON:API.)
    return res.contentType.startsWith('text/html') && res.text.includes('<html') ? [] : ['not an HTML page'];
  }
  if (!res.contentType.startsWith('application/json')) return [`content-type ${JSON.stringify(res.contentType)}, not application/json`];
  let body: any;
  try {
    body = JSON.parse(res.text);
  } catch {
    return ['body is not JSON'];
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ['body is not an object'];
  if (dialect === 'v1') {
    // SendKit: {"error": "Not Found", "message": "…", "code": 404}.
    const problems: string[] = [];
    if (Object.keys(body).sort().join() !== 'code,error,message') problems.push(`keys ${Object.keys(body).join(',')}`);
    if (body.code !== res.status) problems.push(`code ${body.code} is not the status`);
    if (body.error !== STATUS_CODES[res.status]) problems.push(`error ${JSON.stringify(body.error)} is not "${STATUS_CODES[res.status]}"`);
    if (typeof body.message !== 'string' || body.message.length === 0) problems.push('message is not a non-empty string');
    return problems;
  }
  const problems: string[] = [];
  // The token endpoint adds RFC 6749's `error` and `error_description` for OAuth clients.
  const allowed = path === '/oauth2/token' ? ['errors', 'error', 'error_description'] : ['errors'];
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) problems.push(`unexpected top-level keys ${extra.join(',')}`);
  if (!Array.isArray(body.errors) || body.errors.length === 0) return [...problems, 'errors is not a non-empty array'];
  for (const e of body.errors as any[]) {
    if (!errorObject(e)) problems.push(`error ${JSON.stringify(e)}: ${ajv.errorsText(errorObject.errors)}`);
    else if (e.status !== String(res.status)) problems.push(`error status ${e.status} is not ${res.status}`);
  }
  return problems;
}

/**
 * Everything an API request could change, over all organizations: connections and
 * subscriptions row by row, the append-only tables by count and last id, deliveries by
 * count and sums of what a change touches.
 */
export async function snapshot(herald: Herald): Promise<Record<string, unknown>> {
  const db = herald.database.db;
  const one = async (query: ReturnType<typeof sql>) => {
    const { rows } = await query.execute(db);
    return Object.fromEntries(Object.entries(rows[0] as object).map(([k, v]) => [k, v === null ? null : String(v)]));
  };
  const [connections, subscriptions] = await Promise.all([
    db.selectFrom('connections').selectAll().orderBy('id').execute(),
    db.selectFrom('subscriptions').selectAll().orderBy('id').execute(),
  ]);
  return {
    connections,
    subscriptions,
    organizations: await one(sql`select count(*) as n, max(id) as last from organizations`),
    api_keys: await one(sql`select count(*) as n, max(id) as last from api_keys`),
    access_tokens: await one(sql`select count(*) as n, max(expires_at) as last from access_tokens`),
    events: await one(sql`select count(*) as n, max(id) as last, sum(delivery_count) as deliveries from events`),
    idempotency_keys: await one(sql`select count(*) as n, max(created_at) as last from idempotency_keys`),
    deliveries: await one(
      sql`select count(*) as n, max(id) as last, sum(updated_at) as updated, sum(next_attempt_at) as due, sum(attempt_count) as attempts,
          sum(case when status = 'pending' then 1 else 0 end) as pending, sum(case when status = 'parked' then 1 else 0 end) as parked,
          sum(case when status = 'failed' then 1 else 0 end) as failed, sum(case when status = 'succeeded' then 1 else 0 end) as succeeded
          from deliveries`,
    ),
    attempts: await one(sql`select count(*) as n, max(id) as last from attempts`),
    oauth_states: await one(sql`select count(*) as n, sum(coalesce(used_at, 0)) as used from oauth_states`),
  };
}

/** The ids of an organization's resources, by pool (what a Ref picks from). */
export type Pools = Record<'connections' | 'subscriptions' | 'events' | 'deliveries' | 'webhooks', Array<string | number>>;

export async function pools(herald: Herald, organizationId: number): Promise<Pools> {
  const db = herald.database.db;
  const ids = async (table: 'connections' | 'subscriptions' | 'events' | 'deliveries') =>
    (await db.selectFrom(table).select('id').where('organization_id', '=', organizationId).orderBy('id').execute()).map((r) => Number(r.id));
  const webhooks = await db
    .selectFrom('connections')
    .select('public_id')
    .where('organization_id', '=', organizationId)
    .where('public_id', 'is not', null)
    .orderBy('id')
    .execute();
  return {
    connections: await ids('connections'),
    subscriptions: await ids('subscriptions'),
    events: await ids('events'),
    deliveries: await ids('deliveries'),
    webhooks: webhooks.map((r) => r.public_id as string),
  };
}
