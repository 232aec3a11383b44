import type { Updateable } from 'kysely';
import type { ConnectionHealth, ConnectionRow, ConnectionsTable } from './schema.js';
import type { Executor } from './executor.js';

/** The columns the health monitor reads and reports. */
export type HealthRow = Pick<
  ConnectionRow,
  | 'id'
  | 'organization_id'
  | 'health'
  | 'health_reason'
  | 'consecutive_failures'
  | 'failing_since'
  | 'last_success_at'
  | 'last_failure_at'
  | 'last_attempt_status'
  | 'last_attempt_error'
  | 'disabled_at'
  | 'probe_at'
  | 'probe_interval_ms'
  | 'exhausted_count'
  | 'exhausted_reported_at'
>;

const HEALTH_COLUMNS = [
  'id',
  'organization_id',
  'health',
  'health_reason',
  'consecutive_failures',
  'failing_since',
  'last_success_at',
  'last_failure_at',
  'last_attempt_status',
  'last_attempt_error',
  'disabled_at',
  'probe_at',
  'probe_interval_ms',
  'exhausted_count',
  'exhausted_reported_at',
] as const;

/**
 * Endpoint health queries. The polls are served by the partial indexes of migration 0008 and
 * name those indexes' conditions as literals (SQLite uses a partial index only then); every
 * change of state is a compare-and-set, so among several workers exactly one makes it.
 */
export class ConnectionHealthStore {
  constructor(private readonly db: Executor) {}

  #health() {
    return this.db.selectFrom('connections').select(HEALTH_COLUMNS);
  }

  /** Connections whose failure streak reached `threshold` while their circuit is closed. */
  streaksAtLeast(threshold: number, limit: number): Promise<HealthRow[]> {
    return this.#health()
      .where('consecutive_failures', '>', 0)
      .where('consecutive_failures', '>=', threshold)
      .where('health', '=', 'active')
      .limit(limit)
      .execute();
  }

  /** Connections failing since `cutoff` or earlier, not yet disabled. */
  failingSince(cutoff: number, limit: number): Promise<HealthRow[]> {
    return this.#health()
      .where('consecutive_failures', '>', 0)
      .where('failing_since', '<=', cutoff)
      .where('health', '<>', 'disabled')
      .limit(limit)
      .execute();
  }

  /** Open circuits: those a success closed (streak 0), and those whose next probe is due. */
  openCircuits(limit: number): Promise<HealthRow[]> {
    return this.#health()
      .where('health', '<>', 'active')
      .where('health', '=', 'failing')
      .limit(limit)
      .execute();
  }

  /** Connections with exhausted deliveries not reported since `cutoff`. */
  exhaustedToReport(cutoff: number, limit: number): Promise<HealthRow[]> {
    return this.#health()
      .where('exhausted_count', '>', 0)
      .where('exhausted_reported_at', '<=', cutoff)
      .limit(limit)
      .execute();
  }

  /** Active connections with a backlog to let go (after a recovery or an enable). */
  backlogsToRelease(limit: number): Promise<Array<{ id: number }>> {
    return this.db.selectFrom('connections').select('id').where('release_backlog', '=', 1).limit(limit).execute();
  }

  /**
   * Compare-and-set: applies `changes` only while the connection is in one of `from` (and,
   * when given, its streak is at least / exactly `streak`). Answers the row after, or
   * undefined when another process got there first.
   */
  async transition(
    id: number,
    from: readonly ConnectionHealth[],
    changes: Updateable<ConnectionsTable>,
    guard: { minStreak?: number; streak?: number; probeAt?: number | null; exhausted?: number } = {},
  ): Promise<HealthRow | undefined> {
    let query = this.db.updateTable('connections').set(changes).where('id', '=', id).where('health', 'in', [...from]);
    if (guard.minStreak !== undefined) query = query.where('consecutive_failures', '>=', guard.minStreak);
    if (guard.streak !== undefined) query = query.where('consecutive_failures', '=', guard.streak);
    if (guard.probeAt !== undefined) {
      query = guard.probeAt === null ? query.where('probe_at', 'is', null) : query.where('probe_at', '=', guard.probeAt);
    }
    if (guard.exhausted !== undefined) query = query.where('exhausted_count', '=', guard.exhausted);
    return query.returning(HEALTH_COLUMNS).executeTakeFirst();
  }

  /** The delivery a probe sends: the oldest one waiting behind the circuit, of an active subscription. */
  async oldestWaiting(connectionId: number): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('deliveries')
      .innerJoin('subscriptions', 'subscriptions.id', 'deliveries.subscription_id')
      .select('deliveries.id')
      .where('deliveries.connection_id', '=', connectionId)
      .where('deliveries.status', '=', 'parked')
      .where('subscriptions.is_active', '=', 1)
      .orderBy('deliveries.id')
      .limit(1)
      .executeTakeFirst();
    return row?.id;
  }

  /** Makes one parked delivery due now (the probe). */
  async unparkOne(id: number, now: number): Promise<void> {
    await this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'parked')
      .execute();
  }

  /**
   * Up to `limit` of the connection's parked deliveries (of active subscriptions) become due
   * now, or, with `skip`, fail with that reason. Answers how many.
   */
  async settleParked(connectionId: number, now: number, limit: number, skip?: string): Promise<number> {
    const rows = await this.db
      .selectFrom('deliveries')
      .innerJoin('subscriptions', 'subscriptions.id', 'deliveries.subscription_id')
      .select('deliveries.id')
      .where('deliveries.connection_id', '=', connectionId)
      .where('deliveries.status', '=', 'parked')
      .where('subscriptions.is_active', '=', 1)
      .orderBy('deliveries.id')
      .limit(limit)
      .execute();
    if (rows.length === 0) return 0;
    const changes =
      skip === undefined
        ? { status: 'pending' as const, next_attempt_at: now, updated_at: now }
        : { status: 'failed' as const, last_error: skip, updated_at: now };
    // By primary key: the selection above is the only walk of the parked index.
    const result = await this.db
      .updateTable('deliveries')
      .set(changes)
      .where('id', 'in', rows.map((r) => r.id))
      .where('status', '=', 'parked')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Health of the connections a claim touched (read on every claim, never cached). */
  claimView(ids: readonly number[]): Promise<Array<Pick<ConnectionRow, 'id' | 'health' | 'probe_delivery_id'>>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('connections').select(['id', 'health', 'probe_delivery_id']).where('id', 'in', ids).execute();
  }

  /** Connections by health, for the `herald_connections` gauge. */
  async countByHealth(): Promise<Record<ConnectionHealth, number>> {
    const counts: Record<ConnectionHealth, number> = { active: 0, failing: 0, disabled: 0 };
    const unhealthy = await this.db
      .selectFrom('connections')
      .select(['health', (eb) => eb.fn.countAll<number>().as('n')])
      .where('health', '<>', 'active')
      .groupBy('health')
      .execute();
    const total = await this.db.selectFrom('connections').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    let others = 0;
    for (const r of unhealthy) {
      counts[r.health as ConnectionHealth] = Number(r.n);
      others += Number(r.n);
    }
    counts.active = Number(total.n) - others;
    return counts;
  }
}
