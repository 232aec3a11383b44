// How many claims and result batches PostgreSQL itself sustains, with no HTTP in the way: W
// clients, each in a loop claiming up to 500 due deliveries with Herald's claim statement and
// writing their results (all succeeded, one attempt row each) with Herald's results batch, on
// a queue of `deliveries` pending rows. Divides out what workers on separate machines could
// reach before the database is the bound.
//   node bench/postgres/capacity.mjs [--deliveries 200000] [--clients 1,2,4] [--json]
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { claimDue } from '../../dist/store/postgres/claim.js';
import { namePreparedStatements } from '../../dist/store/postgres/prepared.js';
import { addCounters, recordDeliveries } from '../../dist/store/postgres/results.js';
import { onClient } from '../../dist/store/postgres/sql.js';
import { POSTGRES_URL } from '../lib/procs.mjs';
import { dropSchema, seed } from './seed.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DELIVERIES = Number(arg('deliveries', 200_000));
const CLIENTS = String(arg('clients', '1,2,4')).split(',').map(Number);
const LIMIT = 500;

async function run(clients) {
  const schema = `herald_capacity_${randomBytes(4).toString('hex')}`;
  const { client: seeder } = await seed(schema, DELIVERIES);
  await seeder.end();
  const timing = { statements: {}, claims: 0, claimMs: 0, batches: 0, recordMs: 0, delivered: 0 };
  const loop = async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
    await client.connect();
    namePreparedStatements(client);
    const plain = onClient(client);
    // Per statement: its first words name it well enough for the breakdown.
    const sql = async (text, values) => {
      const t = performance.now();
      try {
        return await plain(text, values);
      } finally {
        const key = text.trim().split(/\s+/).slice(0, 3).join(' ');
        const s = (timing.statements[key] ??= { n: 0, ms: 0 });
        s.n++;
        s.ms += performance.now() - t;
      }
    };
    try {
      for (;;) {
        let t = performance.now();
        const claimed = await claimDue(sql, { now: Date.now(), leaseMs: 30_000, limit: LIMIT, perConnection: 20, scan: LIMIT * 4, exclude: [] });
        timing.claims++;
        timing.claimMs += performance.now() - t;
        if (claimed.length === 0) return;
        const now = Date.now();
        const batch = {
          now,
          attempts: claimed.map((c) => ({
            organization_id: c.organization_id, delivery_id: c.id, subscription_id: c.subscription_id, connection_id: c.connection_id,
            number: 1, is_test: 0, started_at: now, duration_ms: 2, url: 'http://127.0.0.1:9/', request_headers: '{}',
            response_status: 200, response_body: '', error: null,
          })),
          updates: claimed.map((c) => ({
            id: c.id, lease: c.next_attempt_at, status: 'succeeded', nextAttemptAt: c.next_attempt_at, lastStatus: 200, lastError: null,
            attempted: true, connectionId: c.connection_id, tracksStats: false,
          })),
          released: [],
          deactivate: [],
        };
        t = performance.now();
        await client.query('begin; set local synchronous_commit = off');
        const applied = await recordDeliveries(sql, batch);
        await client.query('commit');
        await addCounters(sql, batch, new Set(applied));
        timing.recordMs += performance.now() - t;
        timing.batches++;
        timing.delivered += claimed.length;
      }
    } finally {
      await client.end();
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: clients }, loop));
  } finally {
    await dropSchema(schema);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    clients,
    deliveriesPerSecond: Math.round(timing.delivered / seconds),
    claimsPerSecond: Math.round(timing.claims / seconds),
    claimMs: +(timing.claimMs / timing.claims).toFixed(2),
    recordMs: +(timing.recordMs / timing.batches).toFixed(2),
    statements: Object.fromEntries(Object.entries(timing.statements).map(([k, v]) => [k, +(v.ms / v.n).toFixed(2)])),
  };
}

const results = [];
for (const clients of CLIENTS) {
  const r = await run(clients);
  results.push(r);
  if (!process.argv.includes('--json')) {
    console.log(`${clients} client(s): ${r.deliveriesPerSecond.toLocaleString('en')} deliveries/s, ${r.claimsPerSecond} claims/s, claim ${r.claimMs} ms, results batch ${r.recordMs} ms (transaction + counters) (mean, 500 per batch)`);
    console.log(`  mean ms per statement: ${JSON.stringify(r.statements)}`);
  }
}
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
