// A PostgreSQL schema with Herald's tables (the built migrations) and a queue of `deliveries`
// pending deliveries: 100 connections × 1 subscription, 100 deliveries per event, all due.
// Shared by plans.mjs and capacity.mjs.
import pg from 'pg';
import { migrate, openDatabase } from '../../dist/store/database.js';
import { POSTGRES_URL } from '../lib/procs.mjs';

export const CONNECTIONS = 100;

export async function seed(schema, deliveries) {
  const opened = openDatabase(POSTGRES_URL, schema);
  await migrate(opened, schema);
  await opened.db.destroy();
  const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
  await client.connect();
  const now = Date.now();
  const events = Math.ceil(deliveries / CONNECTIONS);
  await client.query(`insert into organizations (name, created_at, updated_at) values ('bench', $1, $1)`, [now]);
  const { rows: [org] } = await client.query('select id from organizations limit 1');
  await client.query(`insert into connections (organization_id, type, config, signature_scheme, signing_secret_sealed,
      status, created_at, updated_at)
    select $1, 'webhook', '{}', 'standard', 'x', 'active', $2, $2 from generate_series(1, ${CONNECTIONS}) g`, [org.id, now]);
  await client.query(`insert into subscriptions (organization_id, connection_id, event_type, is_active, created_at, updated_at)
    select organization_id, id, 'parcels.event.created', 1, $1, $1 from connections`, [now]);
  await client.query(`insert into events (organization_id, event_type, payload, delivery_count, created_at)
    select $1, 'parcels.event.created', '{}', ${CONNECTIONS}, $2 from generate_series(1, ${events})`, [org.id, now]);
  await client.query(`insert into deliveries (organization_id, event_id, subscription_id, connection_id, status,
      attempt_count, next_attempt_at, created_at, updated_at)
    select e.organization_id, e.id, s.id, s.connection_id, 'pending', 0, $1 + e.id, $1, $1
    from events e cross join subscriptions s order by e.id, s.id limit ${deliveries}`, [now - 10 * 60_000]);
  await client.query('vacuum analyze');
  return { client, org: org.id };
}

export async function dropSchema(schema) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`drop schema if exists ${schema} cascade`);
  await client.end();
}
