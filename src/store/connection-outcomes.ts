import { sql } from 'kysely';
import type { Executor } from './executor.js';

export const HOUR_MS = 3_600_000;
export const hourOf = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

export interface HourOutcomes {
  hour: number;
  succeeded: number;
  failed: number;
}

/** Deliveries finished per connection per hour, for the portal's activity chart and list. */
export class ConnectionOutcomes {
  constructor(private readonly db: Executor) {}

  /** One connection's hours from `since` on (its primary key's range). */
  async hours(connectionId: number, since: number): Promise<HourOutcomes[]> {
    const rows = await this.db
      .selectFrom('connection_outcomes')
      .select(['hour', 'succeeded', 'failed'])
      .where('connection_id', '=', connectionId)
      .where('hour', '>=', hourOf(since))
      .orderBy('hour')
      .execute();
    return rows.map((r) => ({ hour: Number(r.hour), succeeded: Number(r.succeeded), failed: Number(r.failed) }));
  }

  /** Totals since `since` of each of an organization's connections that finished any (one range per connection). */
  async totals(organizationId: number, since: number): Promise<Map<number, { succeeded: number; failed: number }>> {
    const rows = await this.db
      .selectFrom('connections')
      .innerJoin('connection_outcomes', 'connection_outcomes.connection_id', 'connections.id')
      .select([
        'connections.id as connection_id',
        sql<number>`sum(connection_outcomes.succeeded)`.as('succeeded'),
        sql<number>`sum(connection_outcomes.failed)`.as('failed'),
      ])
      .where('connections.organization_id', '=', organizationId)
      .where('connection_outcomes.hour', '>=', hourOf(since))
      .groupBy('connections.id')
      .execute();
    return new Map(rows.map((r) => [Number(r.connection_id), { succeeded: Number(r.succeeded), failed: Number(r.failed) }]));
  }

  /** Deletes up to `batch` hours before `before` (index connection_outcomes_hour); returns how many rows. */
  async deleteBefore(before: number, batch: number): Promise<number> {
    const old = this.db
      .selectFrom('connection_outcomes')
      .select(['connection_id', 'hour'])
      .where('hour', '<', before)
      .limit(batch)
      .$asTuple('connection_id', 'hour');
    const result = await this.db
      .deleteFrom('connection_outcomes')
      .where((eb) => eb(eb.refTuple('connection_id', 'hour'), 'in', old))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
