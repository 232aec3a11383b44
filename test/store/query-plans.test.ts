/**
 * Every API list and every clean-up query is served by an index on both databases: the
 * statements are captured as the repository methods send them (not copied by hand), and
 * each one's plan must seek an index for every table it reads — no `SCAN <table>` on
 * SQLite, no `Seq Scan` (nor a whole-index walk without an index condition) on PostgreSQL.
 * Lists are checked for every combination of the filters the API allows, with and
 * without a cursor.
 */
import type { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryStatus } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';
import { DATABASES } from '../support/herald.js';
import { type Planner, type TableAccess, openPlanner } from './planner.js';

interface Case {
  name: string;
  run: (store: Store) => Promise<unknown>;
  /** Tables the statements must read through an index. */
  tables: string[];
  /** For one filter alone: the index whose condition must carry it. */
  servedBy?: string;
}

/** Every subset of the given filters, as objects (the empty one included). */
function subsets<T extends Record<string, unknown>>(all: T): Array<Partial<T>> {
  const keys = Object.keys(all) as Array<keyof T>;
  return Array.from({ length: 2 ** keys.length }, (_, mask) =>
    Object.fromEntries(keys.filter((_, i) => mask & (1 << i)).map((k) => [k, all[k]])) as Partial<T>,
  );
}

const describeFilter = (filter: object, cursor: boolean) =>
  `${Object.entries(filter).map(([k, v]) => `${k}=${String(v)}`).join(' ') || 'organization only'}${cursor ? ', with a cursor' : ''}`;

const ORG = 7;
const CURSORS = [undefined, 1_000] as const;
const NOW = 1_800_000_000_000;

function listCases(): Case[] {
  const cases: Case[] = [];
  // GET /attempts: delivery_id, subscription_id, connection_id, is_test.
  const attemptIndexes: Record<string, string> = {
    deliveryId: 'attempts_delivery',
    subscriptionId: 'attempts_subscription',
    connectionId: 'attempts_connection',
  };
  for (const isTest of [undefined, true, false]) {
    for (const filter of subsets({ deliveryId: 11, subscriptionId: 12, connectionId: 13 })) {
      for (const cursor of CURSORS) {
        const full = { ...filter, ...(isTest === undefined ? {} : { isTest }) };
        const keys = Object.keys(full);
        cases.push({
          name: `attempts.page ${describeFilter(full, cursor !== undefined)}`,
          run: (s) => s.attempts.page(ORG, full, cursor, 51),
          tables: ['attempts'],
          servedBy:
            keys.length === 0
              ? 'attempts_org'
              : keys.length === 1
                ? (attemptIndexes[keys[0] as string] ?? (isTest ? 'attempts_tests' : 'attempts_org'))
                : undefined,
        });
      }
    }
  }
  // GET /deliveries: subscription_id, connection_id, event_id, status.
  const deliveryIndexes: Record<string, string> = {
    subscriptionId: 'deliveries_subscription',
    connectionId: 'deliveries_connection',
    eventId: 'deliveries_event',
  };
  // Failures are rare: a partial index. Most rows are succeeded, and pending ones the newest.
  const statusIndex = (status: DeliveryStatus) => (status === 'failed' ? 'deliveries_failed' : 'deliveries_org');
  for (const status of ['failed', 'pending', 'succeeded'] as DeliveryStatus[]) {
    for (const filter of subsets({ subscriptionId: 21, connectionId: 22, eventId: 23, status })) {
      if (status !== 'failed' && !('status' in filter)) continue; // the status-free subsets once
      for (const cursor of CURSORS) {
        const keys = Object.keys(filter);
        cases.push({
          name: `deliveries.page ${describeFilter(filter, cursor !== undefined)}`,
          run: (s) => s.deliveries.page(ORG, filter, cursor, 51),
          tables: ['deliveries'],
          servedBy:
            keys.length === 0
              ? 'deliveries_org'
              : keys.length === 1
                ? (deliveryIndexes[keys[0] as string] ?? statusIndex(status))
                : undefined,
        });
      }
    }
  }
  // GET /events: event_type, created_after, created_before.
  for (const filter of subsets({ eventType: 'parcels.event.created', createdAfter: NOW - 3_600_000, createdBefore: NOW })) {
    for (const cursor of CURSORS) {
      const keys = Object.keys(filter);
      cases.push({
        name: `events.page ${describeFilter(filter, cursor !== undefined)}`,
        run: (s) => s.events.page(ORG, filter, cursor, 51),
        tables: ['events'],
        servedBy: keys.length === 0 ? 'events_org' : keys.length === 1 && keys[0] === 'eventType' ? 'events_type' : undefined,
      });
    }
  }
  // GET /subscriptions (event_type, is_active; the v1 dialect also lists by connection).
  for (const filter of subsets({ eventType: 'parcels.event.created', isActive: true, connectionId: 31 })) {
    cases.push({
      name: `subscriptions.list ${describeFilter(filter, false)}`,
      run: (s) => s.subscriptions.list(ORG, filter),
      tables: ['subscriptions'],
    });
  }
  cases.push({
    name: 'subscriptions.forConnections',
    run: (s) => s.subscriptions.forConnections(ORG, [31, 32]),
    tables: ['subscriptions'],
  });
  // GET /connections (connection_type) and the v1 listing.
  for (const type of [undefined, 'webhook']) {
    cases.push({
      name: `connections.list ${type ? `type=${type}` : 'organization only'}`,
      run: (s) => s.connections.list(ORG, type),
      tables: ['connections'],
    });
  }
  cases.push({
    name: 'connections.pageWithPublicId',
    run: (s) => s.connections.pageWithPublicId(ORG, 40, 26),
    tables: ['connections'],
  });
  cases.push({
    name: 'connections.countWithPublicId',
    run: (s) => s.connections.countWithPublicId(ORG),
    tables: ['connections'],
  });
  return cases;
}

/** The endpoint-health monitor's polls (every second in each worker) and its probe and backlog statements. */
const HEALTH: Case[] = [
  { name: 'health.streaksAtLeast', run: (s) => s.health.streaksAtLeast(20, 100), tables: ['connections'], servedBy: 'connections_streak' },
  { name: 'health.failingSince', run: (s) => s.health.failingSince(NOW, 100), tables: ['connections'], servedBy: 'connections_streak' },
  { name: 'health.openCircuits', run: (s) => s.health.openCircuits(100), tables: ['connections'], servedBy: 'connections_unhealthy' },
  { name: 'health.exhaustedToReport', run: (s) => s.health.exhaustedToReport(NOW, 100), tables: ['connections'], servedBy: 'connections_exhausted' },
  { name: 'health.backlogsToRelease', run: (s) => s.health.backlogsToRelease(100), tables: ['connections'], servedBy: 'connections_backlog' },
  {
    name: 'health.oldestWaiting',
    run: (s) => s.health.oldestWaiting(41),
    tables: ['deliveries', 'subscriptions'],
    servedBy: 'deliveries_parked_connection',
  },
  {
    name: 'health.settleParked',
    run: (s) => s.health.settleParked(41, NOW, 1000),
    tables: ['deliveries', 'subscriptions'],
    servedBy: 'deliveries_parked_connection',
  },
  { name: 'health.claimView', run: (s) => s.health.claimView([41, 42]), tables: ['connections'] },
];

const CLEANUPS: Case[] = [
  {
    name: 'idempotencyKeys.deleteExpired',
    run: (s) => s.idempotencyKeys.deleteExpired(NOW, 1000),
    tables: ['idempotency_keys'],
    servedBy: 'idempotency_keys_created',
  },
  {
    name: 'accessTokens.deleteExpired',
    run: (s) => s.accessTokens.deleteExpired(NOW, 1000),
    tables: ['access_tokens'],
    servedBy: 'access_tokens_expires',
  },
  {
    name: 'oauthStates.deleteExpired',
    run: (s) => s.oauthStates.deleteExpired(NOW, 1000),
    tables: ['oauth_states'],
    servedBy: 'oauth_states_expires',
  },
];

describe.each(DATABASES)('query plans on %s', (kind) => {
  let planner: Planner;
  beforeAll(async () => {
    planner = await openPlanner(kind);
  });
  afterAll(() => planner?.close());

  const plansOf = async (c: Case): Promise<{ sent: CompiledQuery[]; accesses: TableAccess[] }> => {
    const sent = await planner.capture(c.run);
    expect(sent.length, `${c.name} sends a statement`).toBeGreaterThan(0);
    const accesses: TableAccess[] = [];
    for (const query of sent) accesses.push(...(await planner.explain(query)));
    return { sent, accesses };
  };

  it.each([...listCases(), ...HEALTH, ...CLEANUPS].map((c) => [c.name, c] as const))('%s reads only through indexes', async (_name, c) => {
    const { sent, accesses } = await plansOf(c);
    const plan = accesses.map((a) => a.detail).join('\n');
    const statements = sent.map((q) => q.sql).join('\n');
    for (const table of c.tables) {
      expect(accesses.some((a) => a.table === table), `${table} appears in the plan of\n${statements}\n${plan}`).toBe(true);
    }
    for (const access of accesses.filter((a) => c.tables.includes(a.table))) {
      expect(access.narrowed, `a whole-table read in the plan of\n${statements}\n${plan}`).toBe(true);
    }
    if (c.servedBy) {
      expect(
        accesses.some((a) => a.index === c.servedBy),
        `${c.servedBy} serves\n${statements}\n${plan}`,
      ).toBe(true);
    }
  });

  it('each clean-up deletes a bounded batch (a LIMIT in its statement)', async () => {
    for (const c of CLEANUPS) {
      const sent = await planner.capture(c.run);
      expect(sent, c.name).toHaveLength(1);
      expect((sent[0] as CompiledQuery).sql, c.name).toMatch(/\blimit\b/i);
      expect((sent[0] as CompiledQuery).parameters, c.name).toContain(1000);
    }
  });

  it('the queue gauges come from one statement over the partial due index', async () => {
    const sent = await planner.capture((s) => s.deliveries.queueStats(NOW, 1_000_000));
    expect(sent).toHaveLength(1);
    const accesses = await planner.explain(sent[0] as CompiledQuery);
    const plan = accesses.map((a) => a.detail).join('\n');
    const deliveries = accesses.filter((a) => a.table === 'deliveries');
    expect(deliveries.length, plan).toBeGreaterThanOrEqual(2);
    for (const a of deliveries) expect(a.index, plan).toBe('deliveries_due');
  });
});
