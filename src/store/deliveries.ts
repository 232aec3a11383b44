import { type Insertable, sql } from 'kysely';
import { chunkSize } from './events.js';
import type { Dialect } from './database.js';
import type { RawSqlite } from './raw-sqlite.js';
import type { SqliteQueue } from './sqlite-queue-client.js';
import type { ClaimRequest, ClaimedDelivery, DeliveryUpdate } from './queue.js';
import { insertDeliveries } from './sqlite-queue.js';
import type { DeliveriesTable, DeliveryRow, DeliveryStatus } from './schema.js';
import type { Executor } from './store.js';

/**
 * A literal, not a bound parameter: SQLite uses a partial index only when the query's
 * WHERE term matches the index's own (`status = 'pending'`) at prepare time.
 */
const PENDING = sql.lit('pending') as unknown as DeliveryStatus;
const PARKED = sql.lit('parked') as unknown as DeliveryStatus;
const FINISHED = [sql.lit('succeeded'), sql.lit('failed')] as unknown as DeliveryStatus[];

/** PostgreSQL's clock in epoch milliseconds (the lease's time base on that dialect). */
const DATABASE_NOW_MS = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * Up to `batch` deliveries of these events (index deliveries_event), as a subquery:
 * retention deletes their attempts and then them with it, without carrying the ids to
 * JavaScript and back. Both statements pick the same rows (one plan, an event's deliveries
 * are never added to); were they ever to differ, a delivery's attempts still go with it by
 * cascade.
 */
export function firstDeliveriesOf(db: Executor, eventIds: readonly number[], batch: number) {
  return db.selectFrom('deliveries').select('id').where('event_id', 'in', eventIds).limit(batch);
}

export interface DeliveryFilter {
  subscriptionId?: number;
  connectionId?: number;
  status?: DeliveryStatus;
  eventId?: number;
  /** Deliveries to subscriptions of this event type (the organization's own subscriptions). */
  eventType?: string;
  /** Epoch ms: created at or after (inclusive). */
  createdAfter?: number;
  /** Epoch ms: created before (exclusive). */
  createdBefore?: number;
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
   * moving their `next_attempt_at` to the end of the lease (and marking them `leased`). It
   * looks at the `scan` earliest due rows only, so its cost does not grow with the backlog.
   * PostgreSQL: SKIP LOCKED lets any number of workers claim side by side without double
   * claims, and "now" is the database's clock, so workers with skewed clocks agree on leases.
   * SQLite: the single statement is atomic under its one-writer lock.
   */
  claim(request: Omit<ClaimRequest, 'scan'>): Promise<ClaimedDelivery[]> {
    const { limit, perConnection, exclude, leaseMs } = request;
    const scan = Math.min(limit * 4, 20_000);
    if (this.queue) return this.queue.claim({ ...request, scan });
    const db = this.db;
    const dbNow = this.dialect === 'postgres' ? DATABASE_NOW_MS : sql<number>`${request.now}`;
    let scanned = db
      .selectFrom('deliveries')
      .select(['id', 'connection_id', 'next_attempt_at'])
      .where('status', '=', PENDING)
      .where('next_attempt_at', '<=', dbNow)
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
      .set({ next_attempt_at: sql<number>`${dbNow} + ${leaseMs}`, leased: 1 })
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

  /**
   * The queue gauges in one statement, both from the partial due index: pending deliveries
   * counted up to `countCap` (a bigger backlog reads as countCap, "at least"; counting
   * millions of rows would cost a scrape interval's worth of database time), and when the
   * earliest one is due (one index seek).
   */
  async queueStats(now: number, countCap: number): Promise<{ pending: number; oldestDueMs: number }> {
    const row = await this.db
      .selectNoFrom((eb) => [
        eb
          .selectFrom(eb.selectFrom('deliveries').select('id').where('status', '=', PENDING).limit(countCap).as('capped'))
          .select(eb.fn.countAll<number>().as('n'))
          .as('pending'),
        eb
          .selectFrom('deliveries')
          .select((sub) => sub.fn.min<number>('next_attempt_at').as('due'))
          .where('status', '=', PENDING)
          .as('due'),
      ])
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
          leased: 0,
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
          leased: 0,
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
    // A literal (the API allows only the enum's values), for the partial index of failures.
    if (filter.status !== undefined) query = query.where('status', '=', sql.lit(filter.status) as unknown as DeliveryStatus);
    if (filter.eventId !== undefined) query = query.where('event_id', '=', filter.eventId);
    if (filter.eventType !== undefined) {
      // A delivery's event type is its subscription's: a subquery, so no column is duplicated.
      const eventType = filter.eventType;
      query = query.where('subscription_id', 'in', (eb) =>
        eb.selectFrom('subscriptions').select('id').where('organization_id', '=', organizationId).where('event_type', '=', eventType),
      );
    }
    if (filter.createdAfter !== undefined) query = query.where('created_at', '>=', filter.createdAfter);
    if (filter.createdBefore !== undefined) query = query.where('created_at', '<', filter.createdBefore);
    return query.orderBy('id', 'desc').limit(limit).execute();
  }

  /**
   * Attempt again now: a failed (or parked) delivery is pending again, a pending one is due
   * now — unless a worker holds it right now (leased, lease not over): then nothing changes
   * and the caller learns it is in flight, so a manual retry never doubles an attempt.
   */
  async retryNow(organizationId: number, id: number, now: number): Promise<DeliveryRow | undefined> {
    return this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now, leased: 0 })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('status', 'in', ['failed', 'parked']),
          eb.and([eb('status', '=', 'pending'), eb.or([eb('leased', '=', 0), eb('next_attempt_at', '<=', now)])]),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * A subscription moved to another connection: its unfinished deliveries (pending, parked,
   * failed and so recoverable) follow it. Succeeded ones stay the old connection's history.
   */
  async moveToConnection(subscriptionId: number, connectionId: number, now: number): Promise<void> {
    await this.db
      .updateTable('deliveries')
      .set({ connection_id: connectionId, updated_at: now })
      .where('subscription_id', '=', subscriptionId)
      .where('status', '!=', 'succeeded')
      .execute();
  }

  /** The parked deliveries of these subscriptions (now active again) are due now. */
  async unpark(subscriptionIds: readonly number[], now: number): Promise<number> {
    if (subscriptionIds.length === 0) return 0;
    const result = await this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now, leased: 0 })
      .where('subscription_id', 'in', subscriptionIds)
      .where('status', '=', PARKED)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Up to `batch` parked deliveries of an organization (active again) whose subscription is
   * active are due now (index deliveries_parked); returns how many. Those of paused
   * subscriptions stay parked.
   */
  async unparkForOrganization(organizationId: number, now: number, batch: number): Promise<number> {
    let parked = this.db
      .selectFrom('deliveries')
      .select('id')
      .where('status', '=', PARKED)
      .where('subscription_id', 'in', (eb) =>
        eb.selectFrom('subscriptions').select('id').where('organization_id', '=', organizationId).where('is_active', '=', 1),
      )
      .limit(batch);
    // PostgreSQL: locked as picked, and re-checked if another transaction changed one meanwhile
    // (a retry made it pending and a worker leased it): that row is skipped, not reset under it.
    // SQLite: the one statement is atomic.
    if (this.dialect === 'postgres') parked = parked.forUpdate();
    const result = await this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now, leased: 0 })
      .where('id', 'in', parked)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Deletes the finished ones of the first `batch` deliveries of these events (retention); returns how many. */
  async deleteFinishedOfEvents(eventIds: readonly number[], batch: number): Promise<number> {
    if (eventIds.length === 0) return 0;
    const result = await this.db
      .deleteFrom('deliveries')
      .where('id', 'in', firstDeliveriesOf(this.db, eventIds, batch))
      .where('status', 'in', FINISHED)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes up to `batch` deliveries of an organization (index deliveries_org); returns how many. */
  async deleteForOrganization(organizationId: number, batch: number): Promise<number> {
    const some = this.db.selectFrom('deliveries').select('id').where('organization_id', '=', organizationId).limit(batch);
    const result = await this.db.deleteFrom('deliveries').where('id', 'in', some).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Parked deliveries, counted up to `countCap` (index deliveries_parked). */
  async countParked(countCap: number): Promise<number> {
    const row = await this.db
      .selectFrom((eb) => eb.selectFrom('deliveries').select('id').where('status', '=', PARKED).limit(countCap).as('capped'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
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

  /** Gives leased deliveries back unattempted (a worker stopping, or holding more than it can send). */
  async release(ids: readonly number[], lease: number, now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('deliveries')
      .set({ next_attempt_at: now, leased: 0 })
      .where('id', 'in', ids)
      .where('next_attempt_at', '=', lease)
      .where('status', '=', 'pending')
      .execute();
  }
}
