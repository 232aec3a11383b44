import type { Insertable } from 'kysely';
import type { Dialect } from './database.js';
import type { EventRow, EventsTable } from './schema.js';
import type { Executor } from './store.js';

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

/** Rows per multi-row statement, under SQLite's and PostgreSQL's bound-parameter limits. */
export function chunkSize(dialect: Dialect, columns: number): number {
  const maxParams = dialect === 'sqlite' ? 32_000 : 65_000;
  return Math.max(1, Math.floor(maxParams / columns));
}
