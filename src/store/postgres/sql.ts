import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { Executor } from '../executor.js';

/** One statement with positional parameters ($1…), on a pool client or through Kysely. */
export type Sql = <R = Record<string, unknown>>(text: string, values: readonly unknown[]) => Promise<{ rows: R[]; count: number }>;

export function onClient(client: pg.ClientBase): Sql {
  return async <R>(text: string, values: readonly unknown[]) => {
    const result = await client.query(text, values as unknown[]);
    return { rows: result.rows as R[], count: result.rowCount ?? 0 };
  };
}

/** Inside ingest's Kysely transaction: the same named statements, on that transaction's connection. */
export function onExecutor(db: Executor): Sql {
  return async <R>(text: string, values: readonly unknown[]) => {
    const result = await db.executeQuery<R>(CompiledQuery.raw(text, [...values]));
    return { rows: result.rows, count: Number(result.numAffectedRows ?? result.rows.length) };
  };
}

/** One column of a batch as a bound array (unnest's input): one parameter per column, any row count. */
export function column<T, K extends keyof T>(rows: readonly T[], key: K): unknown[] {
  return rows.map((r) => r[key] ?? null);
}

/** Outside a transaction: any idle connection of the pool. */
export function onPool(pool: pg.Pool): Sql {
  return async <R>(text: string, values: readonly unknown[]) => {
    const result = await pool.query(text, values as unknown[]);
    return { rows: result.rows as R[], count: result.rowCount ?? 0 };
  };
}
