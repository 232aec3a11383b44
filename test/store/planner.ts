/**
 * Captures the SQL that repository methods send and asks the database how it would run it:
 * SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN (FORMAT JSON) with sequential scans (and
 * whole-table joins) disabled, so that on small test tables the plan shows the index the
 * planner can use (a sequential scan still shows when no index serves the query).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { type CompiledQuery, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrate } from '../../src/store/database.js';
import type { Database } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import { type DatabaseKind, dropSchema } from '../support/herald.js';

/** One read of a table in a plan. `narrowed`: the access seeks an index range, not the whole table or index. */
export interface TableAccess {
  table: string;
  narrowed: boolean;
  index: string | undefined;
  /** The index condition (SQLite: the text in parentheses; PostgreSQL: Index Cond). */
  condition: string;
  detail: string;
}

export interface Planner {
  store: Store;
  /** Runs `fn` on the store and returns every statement it sent, as sent. */
  capture(fn: (store: Store) => Promise<unknown>): Promise<CompiledQuery[]>;
  explain(query: CompiledQuery): Promise<TableAccess[]>;
  close(): Promise<void>;
}

export async function openPlanner(kind: DatabaseKind): Promise<Planner> {
  let capturing: CompiledQuery[] | undefined;
  const log = (event: { level: string; query: CompiledQuery }) => {
    if (event.level === 'query') capturing?.push(event.query);
  };
  const capture = async (store: Store, fn: (store: Store) => Promise<unknown>) => {
    const sent: CompiledQuery[] = [];
    capturing = sent;
    try {
      await fn(store);
    } finally {
      capturing = undefined;
    }
    return sent;
  };

  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-plans-'));
    const handle = new SQLite(join(dir, 'plans.db'));
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }), log });
    await migrate({ db, dialect: 'sqlite' });
    const store = new Store(db, 'sqlite');
    return {
      store,
      capture: (fn) => capture(store, fn),
      async explain(query) {
        const rows = handle.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[])) as Array<{
          detail: string;
        }>;
        return withPartialIndexes(
          rows.flatMap((r) => sqliteAccess(r.detail)),
          (handle.prepare(`select name from sqlite_master where type = 'index' and sql like '% where %'`).all() as Array<{ name: string }>).map(
            (r) => r.name,
          ),
        );
      },

      async close() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  const url = process.env.HERALD_TEST_POSTGRES_URL as string;
  const schema = `herald_plans_${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 2 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
  await migrate({ db, dialect: 'postgres' }, schema);
  const store = new Store(db, 'postgres');
  return {
    store,
    capture: (fn) => capture(store, fn),
    async explain(query) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        // On small test tables a sequential scan, a hash join over a whole index, or reading
        // rows in any order and sorting them costs less than walking an index; switched off,
        // the plan shows what the indexes make possible (as the planner chooses on large
        // tables), and a sequential scan or a sort still shows where no index serves the query.
        await client.query('set local enable_seqscan = off');
        await client.query('set local enable_sort = off');
        await client.query('set local enable_hashjoin = off');
        await client.query('set local enable_mergejoin = off');
        const result = await client.query(`explain (format json) ${query.sql}`, query.parameters as unknown[]);
        await client.query('rollback');
        const plan = (result.rows[0] as { 'QUERY PLAN': Array<{ Plan: PgNode }> })['QUERY PLAN'][0]?.Plan as PgNode;
        const partial = await client.query(
          `select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
           where i.indpred is not null and n.nspname = $1`,
          [schema],
        );
        return withPartialIndexes(pgAccesses(plan), partial.rows.map((r: { relname: string }) => r.relname));
      } finally {
        client.release();
      }
    },

    async close() {
      await db.destroy();
      await dropSchema(schema);
    },
  };
}

/**
 * The endpoint-health indexes of connections (migration 0008) hold only the connections with
 * a failure streak, an open circuit, unreported exhausted deliveries or a backlog to let go:
 * a whole walk of one reads those few rows, not the table. A planner drops a query condition
 * the predicate already implies, so such a walk shows no index condition; it counts as
 * narrowed. Only these: other partial indexes (pending or parked deliveries) can be large.
 */
const SMALL_PARTIAL_INDEXES = new Set(['connections_streak', 'connections_unhealthy', 'connections_exhausted', 'connections_backlog']);

function withPartialIndexes(accesses: TableAccess[], partial: string[]): TableAccess[] {
  const names = new Set(partial.filter((name) => SMALL_PARTIAL_INDEXES.has(name)));
  return accesses.map((a) => (!a.narrowed && a.index !== undefined && names.has(a.index) ? { ...a, narrowed: true } : a));
}

const SQLITE_ACCESS =
  /^(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (?:(?:COVERING |AUTOMATIC (?:COVERING |PARTIAL )*)?INDEX (\w+)|(INTEGER PRIMARY KEY|PRIMARY KEY)))?(?: \((.*)\))?/;

function sqliteAccess(detail: string): TableAccess[] {
  const match = SQLITE_ACCESS.exec(detail);
  if (!match) return [];
  const [, verb, table, index, primaryKey, condition] = match;
  return [
    {
      table: table as string,
      narrowed: verb === 'SEARCH',
      index: index ?? (primaryKey ? 'primary key' : undefined),
      condition: condition ?? '',
      detail,
    },
  ];
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PgNode[];
}

function pgAccesses(node: PgNode): TableAccess[] {
  const out: TableAccess[] = [];
  const table = node['Relation Name'];
  const type = node['Node Type'];
  // ModifyTable names the table an UPDATE or DELETE writes; the reads are its children.
  if (table !== undefined && type !== 'ModifyTable') {
    const bitmap = type === 'Bitmap Heap Scan' ? bitmapIndexScan(node) : undefined;
    const index = bitmap?.['Index Name'] ?? node['Index Name'];
    const condition = bitmap?.['Index Cond'] ?? node['Index Cond'] ?? '';
    out.push({
      table,
      narrowed: type !== 'Seq Scan' && condition !== '',
      index,
      condition,
      detail: `${type} on ${table}${index ? ` using ${index}` : ''}${condition ? ` (${condition})` : ''}`,
    });
  }
  for (const child of node.Plans ?? []) out.push(...pgAccesses(child));
  return out;
}

/** The index read under a Bitmap Heap Scan (possibly below a BitmapAnd/BitmapOr). */
function bitmapIndexScan(node: PgNode): PgNode | undefined {
  for (const child of node.Plans ?? []) {
    if (child['Node Type'] === 'Bitmap Index Scan') return child;
    const below = bitmapIndexScan(child);
    if (below) return below;
  }
  return undefined;
}
