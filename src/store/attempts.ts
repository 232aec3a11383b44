import type { AttemptRow, NewAttempt } from './schema.js';
import type { RawSqlite } from './raw-sqlite.js';
import type { Executor } from './store.js';

const SQLITE_INSERT = `insert into attempts (organization_id, delivery_id, subscription_id, connection_id, number,
  is_test, started_at, duration_ms, url, request_headers, response_status, response_body, error)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export class Attempts {
  constructor(
    private readonly db: Executor,
    private readonly raw?: RawSqlite,
  ) {}

  async insertMany(rows: NewAttempt[]): Promise<void> {
    const raw = this.raw;
    if (raw) {
      // Every result batch writes these: a prepared single-row insert per attempt (see RawSqlite).
      return raw.exclusive(this.db, () => {
        const insert = raw.statement(SQLITE_INSERT);
        for (const r of rows) {
          insert.run(
            r.organization_id,
            r.delivery_id ?? null,
            r.subscription_id,
            r.connection_id,
            r.number,
            r.is_test,
            r.started_at,
            r.duration_ms,
            r.url,
            r.request_headers,
            r.response_status ?? null,
            r.response_body ?? null,
            r.error ?? null,
          );
        }
      });
    }
    for (let i = 0; i < rows.length; i += 2000) {
      await this.db
        .insertInto('attempts')
        .values(rows.slice(i, i + 2000))
        .execute();
    }
  }

  page(
    organizationId: number,
    filter: { deliveryId?: number; subscriptionId?: number; connectionId?: number; isTest?: boolean },
    beforeId: number | undefined,
    limit: number,
  ): Promise<AttemptRow[]> {
    let query = this.db.selectFrom('attempts').selectAll().where('organization_id', '=', organizationId);
    if (beforeId !== undefined) query = query.where('id', '<', beforeId);
    if (filter.deliveryId !== undefined) query = query.where('delivery_id', '=', filter.deliveryId);
    if (filter.subscriptionId !== undefined) query = query.where('subscription_id', '=', filter.subscriptionId);
    if (filter.connectionId !== undefined) query = query.where('connection_id', '=', filter.connectionId);
    if (filter.isTest !== undefined) query = query.where('is_test', '=', filter.isTest ? 1 : 0);
    return query.orderBy('id', 'desc').limit(limit).execute();
  }

  forDelivery(deliveryId: number): Promise<AttemptRow[]> {
    return this.db.selectFrom('attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('id').execute();
  }
}
