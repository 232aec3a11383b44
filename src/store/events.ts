import { type Insertable, sql } from 'kysely';
import type { Dialect } from './executor.js';
import type { DeliveryStatus, EventRow, EventsTable } from './schema.js';
import type { Executor } from './executor.js';

export interface EventFilter {
  eventType?: string;
  createdAfter?: number;
  createdBefore?: number;
}

export class Events {
  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {}

  async insertMany(rows: Insertable<EventsTable>[]): Promise<number[]> {
    const ids: number[] = [];
    // Both dialects return ids in insert order for a multi-row INSERT … RETURNING.
    for (let i = 0; i < rows.length; i += chunkSize(this.dialect, 6)) {
      const chunk = rows.slice(i, i + chunkSize(this.dialect, 6));
      const result = await this.db.insertInto('events').values(chunk).returning('id').execute();
      for (const r of result) ids.push(r.id);
    }
    return ids;
  }

  byIds(ids: readonly number[]): Promise<Pick<EventRow, 'id' | 'event_type' | 'payload' | 'profile'>[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('events')
      .select(['id', 'event_type', 'payload', 'profile'])
      .where('id', 'in', ids)
      .execute();
  }

  get(organizationId: number, id: number): Promise<EventRow | undefined> {
    return this.db
      .selectFrom('events')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /**
   * The oldest events after `afterId`, in id order (the primary key): ids grow with time, so
   * retention walks from the oldest and stops at the first one young enough to keep.
   */
  oldest(afterId: number, limit: number): Promise<Pick<EventRow, 'id' | 'created_at' | 'delivery_count'>[]> {
    return this.db
      .selectFrom('events')
      .select(['id', 'created_at', 'delivery_count'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Of these events, the ones with a delivery still pending or parked (index deliveries_event): retention keeps them. */
  async withUnfinishedDeliveries(ids: readonly number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('deliveries')
      .select('event_id')
      .distinct()
      .where('event_id', 'in', ids)
      .where('status', 'in', UNFINISHED)
      .execute();
    return new Set(rows.map((r) => r.event_id));
  }

  /** Deletes these events where no delivery of theirs is left; returns how many. */
  async deleteWithoutDeliveries(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.db
      .deleteFrom('events')
      .where('id', 'in', ids)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('deliveries').select('deliveries.id').whereRef('deliveries.event_id', '=', 'events.id'))),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes up to `batch` events of an organization (index events_org); returns how many. */
  async deleteForOrganization(organizationId: number, batch: number): Promise<number> {
    const some = this.db.selectFrom('events').select('id').where('organization_id', '=', organizationId).limit(batch);
    const result = await this.db.deleteFrom('events').where('id', 'in', some).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Newest first, keyset-paginated on id. */
  page(organizationId: number, filter: EventFilter, beforeId: number | undefined, limit: number): Promise<EventRow[]> {
    let query = this.db.selectFrom('events').selectAll().where('organization_id', '=', organizationId);
    if (beforeId !== undefined) query = query.where('id', '<', beforeId);
    if (filter.eventType !== undefined) query = query.where('event_type', '=', filter.eventType);
    if (filter.createdAfter !== undefined) query = query.where('created_at', '>=', filter.createdAfter);
    if (filter.createdBefore !== undefined) query = query.where('created_at', '<', filter.createdBefore);
    return query.orderBy('id', 'desc').limit(limit).execute();
  }
}

/** Literals: SQLite uses a partial index only when the query's own term matches it at prepare time. */
const UNFINISHED = [sql.lit('pending'), sql.lit('parked')] as unknown as DeliveryStatus[];

/** Rows per multi-row statement, under SQLite's and PostgreSQL's bound-parameter limits. */
export function chunkSize(dialect: Dialect, columns: number): number {
  const maxParams = dialect === 'sqlite' ? 32_000 : 65_000;
  return Math.max(1, Math.floor(maxParams / columns));
}
