import { sql } from 'kysely';
import type { Executor } from './executor.js';

/**
 * PostgreSQL: request counters in the `rate_limits` table (migration 0004), shared by every
 * API process on the database. A fixed window per key, timed by the database's clock so
 * that processes with skewed clocks agree on when a window ends.
 */
export class RateLimitCounters {
  constructor(private readonly db: Executor) {}

  /**
   * Counts one request against `key` in one atomic upsert: the first request of a window
   * (no row yet, or the row's window is over) starts a new one at 1. Returns the count so
   * far in the window, this request included, and the milliseconds until the window ends.
   */
  async hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const { rows } = await sql<{ count: number; window_end: number; now_ms: number }>`
      with clock as (select (extract(epoch from clock_timestamp()) * 1000)::bigint as now_ms)
      insert into rate_limits as r (key, count, window_end)
      select ${key}, 1, now_ms + ${windowMs}::bigint from clock
      on conflict (key) do update set
        count = case when r.window_end <= excluded.window_end - ${windowMs}::bigint then 1 else r.count + 1 end,
        window_end = case when r.window_end <= excluded.window_end - ${windowMs}::bigint
          then excluded.window_end else r.window_end end
      returning r.count, r.window_end, (select now_ms from clock) as now_ms`.execute(this.db);
    const row = rows[0] as { count: number; window_end: number; now_ms: number };
    return { count: Number(row.count), ttlMs: Math.max(0, Number(row.window_end) - Number(row.now_ms)) };
  }

  /** A deleted organization's counters (keys `<id>:api`, `<id>:events`; see api/rate-limit.ts). */
  async forget(organizationId: number): Promise<void> {
    await sql`delete from rate_limits where key in (${`${organizationId}:api`}, ${`${organizationId}:events`})`.execute(this.db);
  }
}
