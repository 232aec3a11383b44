import pg from 'pg';
import { namePreparedStatements } from './prepared.js';

// int8 (counts, ids, epoch-ms times) as numbers: every value Herald keeps fits in 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

/** The pool every PostgreSQL statement of a process runs on, and the settings of its LISTEN connections. */
export function openPool(url: string, schema?: string): { pool: pg.Pool; config: pg.ClientConfig } {
  const config: pg.ClientConfig = {
    connectionString: url,
    // Operators (and tests) tell Herald's sessions apart in pg_stat_activity by this.
    application_name: schema ? `herald ${schema}` : 'herald',
    // While the server is away, a request fails within this instead of waiting forever.
    connectionTimeoutMillis: 5000,
    ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
  };
  const pool = new pg.Pool({ ...config, max: 10 });
  // An idle connection terminated by the server (restart, failover, pg_terminate_backend)
  // is emitted here; without a listener it is an unhandled error that kills the process.
  // The pool drops it and opens a new one on the next query; herald.ts logs it.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    // The pool listens only while a connection is idle; one checked out (a transaction between
    // two statements) that the server terminates would raise an unhandled error. Its query
    // fails on its own, and the pool discards the broken connection when it comes back.
    client.on('error', () => undefined);
    namePreparedStatements(client);
  });
  return { pool, config };
}

function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid schema name "${name}"`);
  return name;
}
