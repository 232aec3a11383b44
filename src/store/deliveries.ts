import { type Insertable, sql } from 'kysely';
import { chunkSize } from './events.js';
import type { Dialect } from './database.js';
import type { RawSqlite } from './raw-sqlite.js';
import type { SqliteQueue } from './sqlite-queue-client.js';
import type { ClaimedDelivery, DeliveryUpdate } from './queue.js';
import { insertDeliveries } from './sqlite-queue.js';
import type { DeliveriesTable, DeliveryRow, DeliveryStatus } from './schema.js';
import type { Executor } from './store.js';

/**
 * A literal, not a bound parameter: SQLite uses a partial index only when the query's
 * WHERE term matches the index's own (`status = 'pending'`) at prepare time.
 */
const PENDING = sql.lit('pending') as unknown as DeliveryStatus;

export interface DeliveryFilter {
  subscriptionId?: number;
  connectionId?: number;
  status?: DeliveryStatus;
  eventId?: number;
}

export type { ClaimedDelivery, DeliveryUpdate } from './queue.js';

export class Deliveries {
  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
    private readonly raw?: RawSqlite,
    private readonly queue?: SqliteQueue,
  ) {}

  async insertMany(rows: Insertable<DeliveriesTable>[]): Promise<void> {
    const raw = this.raw;
    if (raw) {
      return raw.exclusive(this.db, () => insertDeliveries(raw, rows));
    }
    const size = chunkSize(this.dialect, 11);
    for (let i = 0; i < rows.length; i += size) {
      await this.db
        .insertInto('deliveries')
        .values(rows.slice(i, i + size))
        .execute();
    }
  }

  /**
   * Leases up to `limit` due deliveries, at most `perConnection` of any one connection, by
   * moving their `next_attempt_at` to `leaseUntil`. It looks at the `scan` earliest due rows
   * only, so its cost does not grow with the backlog. PostgreSQL: SKIP LOCKED lets any
   * number of workers claim side by side without double claims. SQLite: the single
   * statement is atomic under its one-writer lock.
   */
  claim(
    now: number,
    leaseUntil: number,
    limit: number,
    perConnection: number,
    exclude: readonly number[],
  ): Promise<ClaimedDelivery[]> {
    const scan = Math.min(limit * 4, 20_000);
    if (this.queue) return this.queue.claim({ now, leaseUntil, limit, perConnection, scan, exclude });
    const db = this.db;
    let scanned = db
      .selectFrom('deliveries')
      .select(['id', 'connection_id', 'next_attempt_at'])
      .where('status', '=', PENDING)
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(scan);
    if (exclude.length > 0) scanned = scanned.where('connection_id', 'not in', exclude);
    if (this.dialect === 'postgres') scanned = scanned.forUpdate().skipLocked();
    const ranked = db
      .selectFrom(scanned.as('s'))
      .select((eb) => [
        's.id',
        's.next_attempt_at',
        eb.fn.agg<number>('row_number').over((o) => o.partitionBy('s.connection_id').orderBy('s.next_attempt_at')).as('rank'),
      ]);
    const due = db
      .selectFrom(ranked.as('r'))
      .select('r.id')
      .where('r.rank', '<=', perConnection)
      .orderBy('r.next_attempt_at')
      .limit(limit);
    return db
      .updateTable('deliveries')
      .set({ next_attempt_at: leaseUntil })
      .where('id', 'in', due)
      .returning([
        'id',
        'organization_id',
        'event_id',
        'subscription_id',
        'connection_id',
        'attempt_count',
        'next_attempt_at',
      ])
      .execute();
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.min<number>('next_attempt_at').as('due'))
      .where('status', '=', PENDING)
      .executeTakeFirst();
    return row?.due == null ? undefined : Number(row.due);
  }

  async queueStats(now: number): Promise<{ pending: number; oldestDueMs: number }> {
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => [eb.fn.countAll<number>().as('pending'), eb.fn.min<number>('next_attempt_at').as('due')])
      .where('status', '=', PENDING)
      .executeTakeFirstOrThrow();
    const due = row.due == null ? now : Number(row.due);
    return { pending: Number(row.pending), oldestDueMs: Math.max(0, now - due) };
  }

  /**
   * Applies attempt results. Successes of one claim share their values, so they go as one
   * UPDATE per (lease, status code); the rest one by one. The caller wraps it in a transaction.
   */
  async apply(updates: readonly DeliveryUpdate[], now: number): Promise<number[]> {
    const applied: number[] = [];
    const groups = new Map<string, DeliveryUpdate[]>();
    for (const u of updates) {
      if (u.status === 'succeeded' && u.attempted) {
        const key = `${u.lease}:${u.lastStatus}`;
        const group = groups.get(key);
        if (group) group.push(u);
        else groups.set(key, [u]);
        continue;
      }
      const result = await this.db
        .updateTable('deliveries')
        .set((eb) => ({
          status: u.status,
          attempt_count: eb('attempt_count', '+', u.attempted ? 1 : 0),
          next_attempt_at: u.nextAttemptAt,
          last_status: u.lastStatus,
          last_error: u.lastError,
          updated_at: now,
        }))
        .where('id', '=', u.id)
        .where('next_attempt_at', '=', u.lease)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) applied.push(u.id);
    }
    for (const group of groups.values()) {
      const first = group[0] as DeliveryUpdate;
      const ids = group.map((u) => u.id);
      const rows = await this.db
        .updateTable('deliveries')
        .set((eb) => ({
          status: 'succeeded',
          attempt_count: eb('attempt_count', '+', 1),
          last_status: first.lastStatus,
          last_error: null,
          updated_at: now,
        }))
        .where('id', 'in', ids)
        .where('next_attempt_at', '=', first.lease)
        .where('status', '=', 'pending')
        .returning('id')
        .execute();
      for (const r of rows) applied.push(r.id);
    }
    return applied;
  }

  get(organizationId: number, id: number): Promise<DeliveryRow | undefined> {
    return this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  page(
    organizationId: number,
    filter: DeliveryFilter,
    beforeId: number | undefined,
    limit: number,
  ): Promise<DeliveryRow[]> {
    let query = this.db.selectFrom('deliveries').selectAll().where('organization_id', '=', organizationId);
    if (beforeId !== undefined) query = query.where('id', '<', beforeId);
    if (filter.subscriptionId !== undefined) query = query.where('subscription_id', '=', filter.subscriptionId);
    if (filter.connectionId !== undefined) query = query.where('connection_id', '=', filter.connectionId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.eventId !== undefined) query = query.where('event_id', '=', filter.eventId);
    return query.orderBy('id', 'desc').limit(limit).execute();
  }

  /** Attempt again now: a failed delivery is pending again, a pending one is due now. */
  async retryNow(organizationId: number, id: number, now: number): Promise<DeliveryRow | undefined> {
    return this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('status', '!=', 'succeeded')
      .returningAll()
      .executeTakeFirst();
  }

  async requeueFailed(organizationId: number, subscriptionId: number, since: number, now: number): Promise<number> {
    const result = await this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now })
      .where('organization_id', '=', organizationId)
      .where('subscription_id', '=', subscriptionId)
      .where('status', '=', 'failed')
      .where('created_at', '>=', since)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async failPendingForConnection(connectionId: number, reason: string, now: number): Promise<number> {
    const result = await this.db
      .updateTable('deliveries')
      .set({ status: 'failed', last_error: reason, updated_at: now })
      .where('connection_id', '=', connectionId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Gives leased deliveries back unattempted (a worker stopping, or holding more than it can send). */
  async release(ids: readonly number[], lease: number, now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('deliveries')
      .set({ next_attempt_at: now })
      .where('id', 'in', ids)
      .where('next_attempt_at', '=', lease)
      .where('status', '=', 'pending')
      .execute();
  }
}
