// What a PostgreSQL queue keeps on record after a run: the exact row count of every table
// in its schema (small tables, read once, after the run).
import pg from 'pg';
import { POSTGRES_URL } from './procs.mjs';

/** `{ table: rows }` for every table of `schema` (only tables that hold rows). */
export async function schemaRows(schema) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows: tables } = await client.query(`select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' order by 1`, [schema]);
    const out = {};
    for (const { table_name: table } of tables) {
      const { rows } = await client.query(`select count(*)::int as n from "${schema}"."${table}"`);
      if (rows[0].n > 0) out[table] = rows[0].n;
    }
    return out;
  } finally {
    await client.end();
  }
}
