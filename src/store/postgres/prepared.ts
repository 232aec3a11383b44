import type pg from 'pg';

/**
 * Named (prepared) statements for PostgreSQL's hot path. A statement registered here is
 * parsed and planned once per connection and afterwards only bound and executed: the claim
 * and the results batch run thousands of times a second, and parsing and planning them again
 * each time cost more than running them (bench/README.md). Only these fixed texts are named:
 * naming every query would keep one prepared statement per IN-list length per connection.
 */
const NAMES = new Map<string, string>();

/** Registers `text` under `name` and returns it, for use as an ordinary query text. */
export function prepared(name: string, text: string): string {
  const known = NAMES.get(text);
  if (known !== undefined && known !== name) throw new Error(`statement registered twice: ${known}, ${name}`);
  NAMES.set(text, `herald_${name}`);
  return text;
}

type Query = (...args: unknown[]) => unknown;

/**
 * Makes a pool client run the registered texts as named statements, whoever calls it
 * (Kysely's driver passes `(text, values)`; it cannot name a statement itself). Applied to
 * every connection the pool opens, before its first query.
 */
export function namePreparedStatements(client: pg.ClientBase): void {
  const query = client.query.bind(client) as Query;
  (client as unknown as { query: Query }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof text === 'string' ? NAMES.get(text) : undefined;
    if (name === undefined) return query(text, values, callback);
    if (typeof values === 'function') return query({ name, text }, values);
    return query({ name, text, values }, callback);
  };
}
