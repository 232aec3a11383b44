// EXPLAIN (ANALYZE, BUFFERS) of PostgreSQL's hot statements on a queue of 1,000,000 pending
// deliveries, as the workers run them: named statements, past their first executions (so the
// plan shown is the one PostgreSQL settled on), each in a transaction rolled back afterwards.
//   node bench/postgres/plans.mjs [--deliveries N] > plans.txt
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { CLAIM } from '../../dist/store/postgres/claim.js';
import { APPLY, APPLY_HEALTH } from '../../dist/store/postgres/results.js';
import { INSERT_ATTEMPTS, INSERT_DELIVERIES } from '../../dist/store/postgres/rows.js';
import { CONNECTIONS, dropSchema, seed } from './seed.mjs';

// pg's own text form of a bound value (arrays as '{…}' literals), for EXECUTE's arguments.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const DELIVERIES = arg('deliveries', 1_000_000);
const BATCH = 500;
const schema = `herald_plans_${randomBytes(4).toString('hex')}`;

const { client } = await seed(schema, DELIVERIES).catch(async (e) => {
  await dropSchema(schema);
  throw e;
});
try {
  const { rows: sample } = await client.query(`select id, next_attempt_at, connection_id, subscription_id, organization_id
    from deliveries where status = 'pending' order by next_attempt_at limit ${BATCH}`);
  const arr = (key) => sample.map((r) => r[key]);
  const now = Date.now();
  const plans = [
    { name: 'claim (500 of the earliest due, ≤ 20 per connection, 2,000 scanned)', text: CLAIM, values: [[], 2000, 20, BATCH, 30_000] },
    {
      name: 'results: deliveries of one batch (500 updates, unnest)',
      text: APPLY,
      values: [arr('id'), arr('next_attempt_at'), sample.map(() => 'succeeded'), sample.map(() => 1), sample.map(() => now), sample.map(() => 200), sample.map(() => null), now],
    },
    {
      name: 'results: attempts of one batch (500 rows, unnest)',
      text: INSERT_ATTEMPTS,
      values: [arr('organization_id'), arr('id'), arr('subscription_id'), arr('connection_id'), sample.map(() => 1), sample.map(() => 0),
        sample.map(() => now), sample.map(() => 3), sample.map(() => 'http://127.0.0.1/'), sample.map(() => '{}'), sample.map(() => 200),
        sample.map(() => ''), sample.map(() => null)],
    },
    {
      name: 'results: health counters of 100 connections (unnest)',
      text: APPLY_HEALTH,
      values: [[...Array(CONNECTIONS).keys()].map((i) => i + 1), Array(CONNECTIONS).fill(1), Array(CONNECTIONS).fill(0), Array(CONNECTIONS).fill(null),
        Array(CONNECTIONS).fill(0), Array(CONNECTIONS).fill(200), Array(CONNECTIONS).fill(null), now],
    },
    {
      name: 'fan-out: 1,000 deliveries of 10 events (unnest)',
      text: INSERT_DELIVERIES,
      values: (() => {
        const n = 1000;
        const col = (f) => Array.from({ length: n }, (_, i) => f(i));
        return [col(() => sample[0].organization_id), col((i) => 1 + Math.floor(i / 100)), col((i) => (i % CONNECTIONS) + 1),
          col((i) => (i % CONNECTIONS) + 1), col(() => 'pending'), col(() => 0), col(() => now), col(() => null), col(() => null), col(() => now), col(() => now)];
      })(),
    },
  ];
  console.log(`PostgreSQL plans, ${DELIVERIES.toLocaleString('en')} pending deliveries over ${CONNECTIONS} connections, ${new Date().toISOString()}\n`);
  for (const p of plans) {
    // The first five executions of a named statement are planned for their values; then
    // PostgreSQL may switch to one generic plan. Run it six times first, each rolled back.
    for (let i = 0; i < 6; i++) {
      await client.query('begin');
      await client.query({ name: `plan_${plans.indexOf(p)}`, text: p.text, values: p.values });
      await client.query('rollback');
    }
    await client.query('begin');
    await client.query(`prepare explained as ${p.text}`);
    const args = p.values.map((v) => (v === null ? 'null' : client.escapeLiteral(String(prepareValue(v))))).join(', ');
    for (let i = 0; i < 5; i++) {
      // Each one undone, so that the explained run meets the same rows.
      await client.query('savepoint warm');
      await client.query(`execute explained(${args})`);
      await client.query('rollback to savepoint warm');
    }
    const { rows } = await client.query(`explain (analyze, buffers, costs off) execute explained(${args})`);
    await client.query('rollback');
    await client.query('deallocate explained');
    console.log(`## ${p.name}\n`);
    console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
    console.log('');
  }
} finally {
  await client.end();
  await dropSchema(schema);
}
