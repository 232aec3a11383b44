import type pg from 'pg';
import { isForeignKeyViolation, isRetryableConflict } from '../errors.js';
import type { ClaimRequest, ClaimedDelivery, DeliveryQueue, ResultBatch } from '../queue.js';
import { claimDue } from './claim.js';
import { addCounters, recordDeliveries } from './results.js';
import { onClient, onPool } from './sql.js';

/** Runs of a results batch in all: a lost race or a row deleted meanwhile makes a rerun drop it. */
const RECORD_RUNS = 5;

/**
 * PostgreSQL's hot path, straight on the pool (Kysely builds nothing here): a claim is one
 * named statement, a results batch one transaction of a fixed number of them.
 */
export class PostgresQueue implements DeliveryQueue {
  constructor(private readonly pool: pg.Pool) {}

  claim(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    return claimDue(onPool(this.pool), request);
  }

  /**
   * A delivery deleted between an attempt's existence check and its insert (another
   * transaction's commit) fails the foreign key, and two transactions may still lose a race
   * (40001/40P01): run the batch again, which then drops what is gone.
   */
  async record(batch: ResultBatch): Promise<number[]> {
    for (let run = 1; ; run++) {
      try {
        const applied = await this.#recordOnce(batch);
        // After the commit, on their own (results.ts says why); a lost race or an outage
        // here costs one batch's counts, not the batch.
        await addCounters(onPool(this.pool), batch, new Set(applied)).catch(() => undefined);
        return applied;
      } catch (error) {
        if (run >= RECORD_RUNS || !(isForeignKeyViolation(error) || isRetryableConflict(error))) throw error;
      }
    }
  }

  /**
   * `synchronous_commit = off`: the commit need not reach the disk before it returns. A
   * result lost in a power cut is a repeat (at-least-once), and the next durable commit
   * flushes it too, so the order of what survives is kept.
   */
  async #recordOnce(batch: ResultBatch): Promise<number[]> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('begin; set local synchronous_commit = off');
      const applied = await recordDeliveries(onClient(client), batch);
      await client.query('commit');
      return applied;
    } catch (error) {
      await client.query('rollback').catch((rollbackFailed: Error) => {
        broken = rollbackFailed;
      });
      throw error;
    } finally {
      // A connection whose rollback failed is in an unknown state: the pool discards it.
      client.release(broken);
    }
  }

  async close(): Promise<void> {}
}
