import { randomInt } from 'node:crypto';
import type { Executor } from './store.js';

export const MINUTE_MS = 60_000;

/**
 * This process's (or thread's) row of each minute. Result batches of several processes on
 * PostgreSQL then rarely wait for each other's row lock; the stats add the shards up.
 */
export const OUTCOME_SHARD = randomInt(64);

/** The upsert of one result batch's outcomes, the same text on both dialects (SQLite runs it prepared). */
export const ADD_OUTCOMES = `insert into delivery_outcomes (minute, shard, succeeded, failed) values (?, ?, ?, ?)
  on conflict (minute, shard) do update set succeeded = delivery_outcomes.succeeded + excluded.succeeded,
    failed = delivery_outcomes.failed + excluded.failed`;

export const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** Deliveries finished per minute (written with each result batch), for the admin stats. */
export class DeliveryOutcomes {
  constructor(private readonly db: Executor) {}

  async add(now: number, succeeded: number, failed: number): Promise<void> {
    if (succeeded === 0 && failed === 0) return;
    await this.db
      .insertInto('delivery_outcomes')
      .values({ minute: minuteOf(now), shard: OUTCOME_SHARD, succeeded, failed })
      .onConflict((oc) =>
        oc.columns(['minute', 'shard']).doUpdateSet((eb) => ({
          succeeded: eb('delivery_outcomes.succeeded', '+', eb.ref('excluded.succeeded')),
          failed: eb('delivery_outcomes.failed', '+', eb.ref('excluded.failed')),
        })),
      )
      .execute();
  }

  /** Deliveries finished in the minutes from `since` on (its primary key's range). */
  async since(since: number): Promise<{ succeeded: number; failed: number }> {
    const row = await this.db
      .selectFrom('delivery_outcomes')
      .select((eb) => [eb.fn.sum<number>('succeeded').as('succeeded'), eb.fn.sum<number>('failed').as('failed')])
      .where('minute', '>=', minuteOf(since))
      .executeTakeFirstOrThrow();
    return { succeeded: Number(row.succeeded ?? 0), failed: Number(row.failed ?? 0) };
  }

  /** Deletes up to `batch` minutes before `before`; returns how many rows. */
  async deleteBefore(before: number, batch: number): Promise<number> {
    const old = this.db
      .selectFrom('delivery_outcomes')
      .select(['minute', 'shard'])
      .where('minute', '<', before)
      .limit(batch)
      .$asTuple('minute', 'shard');
    const result = await this.db
      .deleteFrom('delivery_outcomes')
      .where((eb) => eb(eb.refTuple('minute', 'shard'), 'in', old))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
