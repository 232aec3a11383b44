import { type Insertable, sql } from 'kysely';
import type { Dialect, Executor } from './executor.js';
import { insertDeliveries as insertPostgres } from './postgres/rows.js';
import { onExecutor } from './postgres/sql.js';
import type { ClaimRequest, ClaimedDelivery, DeliveryQueue } from './queue.js';
import type { DeliveriesTable, DeliveryRow, DeliveryStatus } from './schema.js';
import { insertDeliveries as insertSqlite } from './sqlite/rows.js';
import type { RawSqlite } from './sqlite/raw.js';

/**
 * A literal, not a bound parameter: SQLite uses a partial index only when the query's
 * WHERE term matches the index's own (`status = 'pending'`) at prepare time.
 */
const PENDING = sql.lit('pending') as unknown as DeliveryStatus;
const PARKED = sql.lit('parked') as unknown as DeliveryStatus;
const FINISHED = [sql.lit('succeeded'), sql.lit('failed')] as unknown as DeliveryStatus[];

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
    private readonly queue?: DeliveryQueue,
  ) {}

  /** The fan-out's rows: SQLite's prepared single-row insert, PostgreSQL's one unnest statement. */
  async insertMany(rows: Insertable<DeliveriesTable>[]): Promise<void> {
    const raw = this.raw;
    if (raw) return raw.exclusive(this.db, () => insertSqlite(raw, rows));
    await insertPostgres(onExecutor(this.db), rows);
  }

  /**
   * Leases up to `limit` due deliveries, at most `perConnection` of any one connection, by
   * moving their `next_attempt_at` to the end of the lease (and marking them `leased`). It
   * looks at the `scan` earliest due rows only, so its cost does not grow with the backlog.
   * The dialect's queue runs it (sqlite/claim.ts, postgres/claim.ts).
   */
  claim(request: Omit<ClaimRequest, 'scan'>): Promise<ClaimedDelivery[]> {
    if (!this.queue) throw new Error('this store has no delivery queue');
    return this.queue.claim({ ...request, scan: Math.min(request.limit * 4, 20_000) });
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
}
