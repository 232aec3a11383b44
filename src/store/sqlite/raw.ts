import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import type { Executor } from '../executor.js';

/** FULL: an acknowledged event survives even a power cut (commits are grouped, so rarely paid). */
export const SQLITE_DURABLE_SYNC = 'full' as const;

/** How long a statement outside a transaction waits for the other connection's lock. */
export const BUSY_TIMEOUT_MS = 10_000;

/** The other connection holds the write lock: try the transaction again shortly. */
export class BeginBusy extends Error {
  constructor() {
    super('SQLITE_BUSY at BEGIN IMMEDIATE');
  }
}

/**
 * The better-sqlite3 handle under Kysely, for the delivery hot path: claims, results and
 * fan-out inserts run as prepared statements, bound and stepped directly. Building a query
 * with Kysely costs more than SQLite takes to run most of these (measured in bench/), and
 * a multi-row INSERT of 1,000 rows binds 11,000 parameters where one prepared single-row
 * statement run 1,000 times binds 11 at a time.
 */
export class RawSqlite {
  readonly #cache = new Map<string, SQLite.Statement>();

  constructor(
    readonly handle: SQLite.Database,
    private readonly cacheSize = 500,
  ) {}

  /**
   * A prepared statement, kept by its text (better-sqlite3 runs one at a time: sharing is
   * safe). Kysely's statements go through here too: it prepares every query anew, and
   * preparing costs more than running most of Herald's statements.
   */
  statement(text: string): SQLite.Statement {
    let statement = this.#cache.get(text);
    if (statement) {
      this.#cache.delete(text);
    } else {
      statement = this.handle.prepare(text);
      if (this.#cache.size >= this.cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(text, statement);
    return statement;
  }

  /**
   * Kysely's view of the same handle, sharing the statement cache. Its transactions begin
   * IMMEDIATE: the queue thread writes through a second connection, and a deferred
   * transaction that read first and writes second fails at once (SQLITE_BUSY, no waiting)
   * when the other connection committed in between; an immediate one waits its turn.
   */
  kyselyDatabase(): SqliteDatabase {
    return {
      prepare: (text: string) => (text === 'begin' ? this.#beginWithoutWaiting() : this.statement(text)),
      close: () => this.handle.close(),
    };
  }

  /**
   * BEGIN IMMEDIATE that fails at once with BeginBusy instead of blocking the event loop in
   * SQLite's busy handler (it sleeps 1, 2, 5, 10… ms); `Store.transaction` retries it
   * after yielding. Nothing has run yet when BEGIN fails, so a retry repeats nothing.
   */
  #beginWithoutWaiting(): SQLite.Statement {
    const begin = this.statement('begin immediate');
    const handle = this.handle;
    return {
      reader: false,
      run(...params: unknown[]) {
        handle.pragma('busy_timeout = 0');
        try {
          return begin.run(...params);
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new BeginBusy();
          throw error;
        } finally {
          handle.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
        }
      },
    } as unknown as SQLite.Statement;
  }

  /**
   * Runs `fn` while holding Kysely's connection: inside a transaction that is already the
   * case; outside one, a transaction of another caller may be open across an await, and a
   * statement run now would silently join it.
   */
  exclusive<T>(db: Executor, fn: () => T): Promise<T> {
    if (db.isTransaction) return Promise.resolve(fn());
    return db.connection().execute(async () => fn());
  }

  /**
   * `fn` in one IMMEDIATE transaction whose commit need not reach the disk before it
   * returns (`synchronous=NORMAL`): for writes whose loss in a power cut only causes a
   * repeat, such as leases. Inside an open transaction it simply joins it.
   */
  relaxedTransaction<T>(db: Executor, fn: () => T): Promise<T> {
    if (db.isTransaction) return Promise.resolve(fn());
    return this.exclusive(db, () => {
      this.statement('pragma synchronous = normal').run();
      try {
        return this.handle.transaction(fn).immediate();
      } finally {
        this.statement(`pragma synchronous = ${SQLITE_DURABLE_SYNC}`).run();
      }
    });
  }
}
