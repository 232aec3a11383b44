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
  // The admin API and the CLI (issue 12): organizations, an organization's keys.
  for (const filter of [{}, { externalId: 'cus_42' }]) {
    for (const after of [0, 1_000]) {
      cases.push({
        name: `organizations.page ${describeFilter(filter, after > 0)}`,
        run: (s) => s.organizations.page(filter, after, 51),
        tables: ['organizations'],
      });
    }
  }
  cases.push(
    { name: 'organizations.get', run: (s) => s.organizations.get(ORG), tables: ['organizations'] },
    { name: 'organizations.byName', run: (s) => s.organizations.byName('acme', 6), tables: ['organizations'], servedBy: 'organizations_name' },
    { name: 'apiKeys.page', run: (s) => s.apiKeys.page(ORG, 0, 51), tables: ['api_keys'], servedBy: 'api_keys_org' },
    { name: 'apiKeys.page with a cursor', run: (s) => s.apiKeys.page(ORG, 1_000, 51), tables: ['api_keys'], servedBy: 'api_keys_org' },
    // Every authenticated request: the credential with its key and organization, no cache.
    { name: 'apiKeys.byPublicKey', run: (s) => s.apiKeys.byPublicKey('pk_x'), tables: ['api_keys', 'organizations'] },
    { name: 'apiKeys.bySecretHash', run: (s) => s.apiKeys.bySecretHash('ab'), tables: ['api_keys', 'organizations'] },
    { name: 'accessTokens.lookup', run: (s) => s.accessTokens.lookup('ab', NOW), tables: ['access_tokens', 'api_keys', 'organizations'] },
    { name: 'apiKeys.touch', run: (s) => s.apiKeys.touch(3, NOW, 60_000), tables: ['api_keys'] },
    { name: 'apiKeys.delete (revoke)', run: (s) => s.apiKeys.delete(3, ORG), tables: ['api_keys'] },
    // The worker reads each claim's subscriptions with their organization's status.
    { name: 'subscriptions.byIds', run: (s) => s.subscriptions.byIds([31, 32]), tables: ['subscriptions', 'organizations'] },
    { name: 'connections.idsForOrganization', run: (s) => s.connections.idsForOrganization(ORG), tables: ['connections'], servedBy: 'connections_org' },
    // Resuming a suspended organization; the stats.
    {
      name: 'deliveries.unparkForOrganization',
      run: (s) => s.deliveries.unparkForOrganization(ORG, NOW, 1000),
      tables: ['deliveries', 'subscriptions'],
      servedBy: 'deliveries_parked',
    },
    { name: 'deliveryOutcomes.since', run: (s) => s.deliveryOutcomes.since(NOW - 3_600_000), tables: ['delivery_outcomes'] },
    // The customer portal: every cookie-authenticated request, sign-in, and the activity figures.
    { name: 'portalSessions.bySession', run: (s) => s.portalSessions.bySession('ab', NOW), tables: ['portal_sessions', 'organizations'] },
    { name: 'portalSessions.signIn', run: (s) => s.portalSessions.signIn('ab', 'cd', NOW), tables: ['portal_sessions'] },
    { name: 'portalSessions.end', run: (s) => s.portalSessions.end('ab'), tables: ['portal_sessions'] },
    { name: 'connectionOutcomes.hours', run: (s) => s.connectionOutcomes.hours(41, NOW - 7 * 86_400_000), tables: ['connection_outcomes'] },
    {
      name: 'connectionOutcomes.totals',
      run: (s) => s.connectionOutcomes.totals(ORG, NOW - 86_400_000),
      tables: ['connections', 'connection_outcomes'],
      servedBy: 'connections_org',
    },
    // Single-row writes by primary key: renaming or suspending, the steps of a deletion, the stats' upsert.
    { name: 'organizations.update', run: (s) => s.organizations.update(ORG, { name: 'x', updated_at: NOW }), tables: ['organizations'] },
    { name: 'organizations.markDeleting', run: (s) => s.organizations.markDeleting(ORG, NOW), tables: ['organizations'] },
    { name: 'organizations.claimPurge', run: (s) => s.organizations.claimPurge(ORG, NOW, NOW - 1), tables: ['organizations'] },
    { name: 'organizations.purgeHeartbeat', run: (s) => s.organizations.purgeHeartbeat(ORG, NOW), tables: ['organizations'] },
    { name: 'organizations.deleteRow', run: (s) => s.organizations.deleteRow(ORG), tables: ['organizations'] },
  );
  return cases;
}

/** Retention's statements bounded by the ids a step picked (each step's other statements carry a LIMIT). */
const RETENTION: Case[] = [
  { name: 'events.oldest', run: (s) => s.events.oldest(0, 100), tables: ['events'] },
  { name: 'events.oldest after a cursor', run: (s) => s.events.oldest(5_000, 100), tables: ['events'] },
  {
    name: 'events.withUnfinishedDeliveries',
    run: (s) => s.events.withUnfinishedDeliveries([1, 2, 3]),
    tables: ['deliveries'],
    servedBy: 'deliveries_event',
  },
  {
    name: 'attempts.deleteForEvents',
    run: (s) => s.attempts.deleteForEvents([1, 2, 3], 500),
    tables: ['attempts', 'deliveries'],
    servedBy: 'attempts_delivery',
  },
  {
    name: 'deliveries.deleteFinishedOfEvents',
    run: (s) => s.deliveries.deleteFinishedOfEvents([1, 2, 3], 500),
    tables: ['deliveries'],
    servedBy: 'deliveries_event',
  },
  { name: 'events.deleteWithoutDeliveries', run: (s) => s.events.deleteWithoutDeliveries([1, 2, 3]), tables: ['events', 'deliveries'] },
];

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
  // Retention (delivery/retention.ts).
  {
    name: 'attempts.deleteTestsBefore',
    run: (s) => s.attempts.deleteTestsBefore(NOW, 1000),
    tables: ['attempts'],
    servedBy: 'attempts_tests_started',
  },
  { name: 'deliveryOutcomes.deleteBefore', run: (s) => s.deliveryOutcomes.deleteBefore(NOW, 1000), tables: ['delivery_outcomes'] },
  {
    name: 'connectionOutcomes.deleteBefore',
    run: (s) => s.connectionOutcomes.deleteBefore(NOW, 1000),
    tables: ['connection_outcomes'],
    servedBy: 'connection_outcomes_hour',
  },
  {
    name: 'portalSessions.deleteExpired',
    run: (s) => s.portalSessions.deleteExpired(NOW, 1000),
    tables: ['portal_sessions'],
    servedBy: 'portal_sessions_expires',
  },
  // Deleting an organization, one table at a time (domain/organization-purge.ts).
  { name: 'apiKeys.deleteForOrganization', run: (s) => s.apiKeys.deleteForOrganization(ORG, 1000), tables: ['api_keys'], servedBy: 'api_keys_org' },
  { name: 'attempts.deleteForOrganization', run: (s) => s.attempts.deleteForOrganization(ORG, 1000), tables: ['attempts'], servedBy: 'attempts_org' },
  {
    name: 'deliveries.deleteForOrganization',
    run: (s) => s.deliveries.deleteForOrganization(ORG, 1000),
    tables: ['deliveries'],
    servedBy: 'deliveries_org',
  },
  // events_org or events_created: both lead with organization_id.
  { name: 'events.deleteForOrganization', run: (s) => s.events.deleteForOrganization(ORG, 1000), tables: ['events'] },
  {
    name: 'idempotencyKeys.deleteForOrganization',
    run: (s) => s.idempotencyKeys.deleteForOrganization(ORG, 1000),
    tables: ['idempotency_keys'],
  },
  {
    name: 'subscriptions.deleteForOrganization',
    run: (s) => s.subscriptions.deleteForOrganization(ORG, 1000),
    tables: ['subscriptions'],
    servedBy: 'subscriptions_org',
  },
  {
    name: 'connections.deleteForOrganization',
    run: (s) => s.connections.deleteForOrganization(ORG, 1000),
    tables: ['connections'],
    servedBy: 'connections_org',
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

  it.each([...listCases(), ...RETENTION, ...HEALTH, ...CLEANUPS].map((c) => [c.name, c] as const))('%s reads only through indexes', async (_name, c) => {
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

  // Rare rows in a partial index, read whole (up to a cap): every read of the table is such an
  // index (parked deliveries have two, by subscription and by connection: either holds only them).
  it.each([
    ['deliveries.countParked', (st: Store) => st.deliveries.countParked(1_000_000), 'deliveries', ['deliveries_parked', 'deliveries_parked_connection']],
    ['organizations.deleting', (st: Store) => st.organizations.deleting(10), 'organizations', ['organizations_deleting']],
  ] as const)('%s reads its partial index only', async (_name, run, table, indexes) => {
    const sent = await planner.capture(run);
    expect(sent).toHaveLength(1);
    const accesses = await planner.explain(sent[0] as CompiledQuery);
    const plan = accesses.map((a) => a.detail).join('\n');
    const reads = accesses.filter((a) => a.table === table);
    expect(reads.length, plan).toBeGreaterThan(0);
    for (const a of reads) expect(indexes as readonly string[], plan).toContain(a.index);
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
