import { randomInt } from 'node:crypto';
import type { Executor } from './executor.js';

export const MINUTE_MS = 60_000;

/**
 * This process's (or thread's) row of each minute. Result batches of several processes on
 * PostgreSQL then rarely wait for each other's row lock; the stats add the shards up.
 */
export const OUTCOME_SHARD = randomInt(64);

export const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** Deliveries finished per minute (written with each result batch), for the admin stats. */
export class DeliveryOutcomes {
  constructor(private readonly db: Executor) {}

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
