import type { AttemptRow, NewAttempt } from './schema.js';
import type { RawSqlite } from './raw-sqlite.js';
import { insertAttempts } from './sqlite-queue.js';
import type { Executor } from './store.js';

export class Attempts {
  constructor(
    private readonly db: Executor,
    private readonly raw?: RawSqlite,
  ) {}

  async insertMany(rows: NewAttempt[]): Promise<void> {
    const raw = this.raw;
    if (raw) {
      return raw.exclusive(this.db, () => insertAttempts(raw, rows));
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
