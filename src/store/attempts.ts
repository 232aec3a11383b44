import { sql } from 'kysely';
import { firstDeliveriesOf } from './deliveries.js';
import type { Executor } from './executor.js';
import { insertAttempts as insertPostgres } from './postgres/rows.js';
import { onExecutor } from './postgres/sql.js';
import type { AttemptRow, NewAttempt } from './schema.js';
import type { RawSqlite } from './sqlite/raw.js';
import { insertAttempts as insertSqlite } from './sqlite/rows.js';

export class Attempts {
  constructor(
    private readonly db: Executor,
    private readonly raw?: RawSqlite,
  ) {}

  /** Attempts whose delivery and subscription still exist (see sqlite/rows.ts, postgres/rows.ts). */
  async insertMany(rows: NewAttempt[]): Promise<void> {
    const raw = this.raw;
    if (raw) return raw.exclusive(this.db, () => insertSqlite(raw, rows));
    await insertPostgres(onExecutor(this.db), rows);
  }

  /**
   * Newest first, keyset-paginated on id. `is_test` is a literal, not a bound parameter:
   * SQLite uses the partial index of tests (`where is_test = 1`) only when the query's own
   * term matches it when the statement is prepared.
   */
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
    if (filter.isTest !== undefined) query = query.where('is_test', '=', sql.lit(filter.isTest ? 1 : 0) as unknown as number);
    return query.orderBy('id', 'desc').limit(limit).execute();
  }

  /** Deletes the attempts of the first `batch` deliveries of these events (retention; index attempts_delivery). */
  async deleteForEvents(eventIds: readonly number[], batch: number): Promise<number> {
    if (eventIds.length === 0) return 0;
    const result = await this.db.deleteFrom('attempts').where('delivery_id', 'in', firstDeliveriesOf(this.db, eventIds, batch)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes up to `batch` broadcast-test attempts started before `before` (index attempts_tests_started). */
  async deleteTestsBefore(before: number, batch: number): Promise<number> {
    const old = this.db
      .selectFrom('attempts')
      .select('id')
      .where('is_test', '=', sql.lit(1) as unknown as number)
      .where('started_at', '<', before)
      .limit(batch);
    const result = await this.db.deleteFrom('attempts').where('id', 'in', old).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes up to `batch` attempts of an organization (index attempts_org); returns how many. */
  async deleteForOrganization(organizationId: number, batch: number): Promise<number> {
    const some = this.db.selectFrom('attempts').select('id').where('organization_id', '=', organizationId).limit(batch);
    const result = await this.db.deleteFrom('attempts').where('id', 'in', some).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  forDelivery(deliveryId: number): Promise<AttemptRow[]> {
    return this.db.selectFrom('attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('id').execute();
  }
}
