import { CompiledQuery, type Kysely, type Transaction, sql } from 'kysely';
import { AccessTokens } from './access-tokens.js';
import { ApiKeys } from './api-keys.js';
import { Attempts } from './attempts.js';
import { ConnectionHealthStore } from './connection-health.js';
import { Connections } from './connections.js';
import type { Dialect, OpenedDatabase } from './database.js';
import { Deliveries } from './deliveries.js';
import { DeliveryOutcomes } from './delivery-outcomes.js';
import { Events } from './events.js';
import { IdempotencyKeys } from './idempotency.js';
import { OauthStates } from './oauth-states.js';
import { Organizations } from './organizations.js';
import { BUSY_TIMEOUT_MS, BeginBusy, type RawSqlite } from './raw-sqlite.js';
import { isForeignKeyViolation, isRetryableConflict } from './errors.js';
import type { SqliteQueue } from './sqlite-queue-client.js';
import { APPLY_HEALTH_SQL, type ResultBatch, connectionOutcomeCounts, finalCounts, healthParams, healthTallies, outcomeCounts } from './queue.js';
import { ADD_CONNECTION_OUTCOMES, ConnectionOutcomes, connectionOutcomeParams } from './connection-outcomes.js';
import { PortalSessions } from './portal-sessions.js';
import type { Database } from './schema.js';
import { type RoutingChange, RoutingSignals, routingPayload } from './routing-signals.js';
import { Subscriptions } from './subscriptions.js';

export const WAKE_CHANNEL = 'herald_due';

/** queue.ts's health statement with PostgreSQL's numbered parameters. */
const PG_APPLY_HEALTH = numberedParameters(APPLY_HEALTH_SQL);
const PG_ADD_CONNECTION_OUTCOMES = numberedParameters(ADD_CONNECTION_OUTCOMES);

function numberedParameters(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

export type Executor = Kysely<Database> | Transaction<Database>;

/**
 * One repository per table group over one executor. `transaction()` hands the callback a
 * Store bound to the transaction, so services compose repository calls atomically.
 */
export class Store {
  readonly organizations: Organizations;
  readonly apiKeys: ApiKeys;
  readonly accessTokens: AccessTokens;
  readonly connections: Connections;
  readonly health: ConnectionHealthStore;
  readonly subscriptions: Subscriptions;
  readonly events: Events;
  readonly deliveries: Deliveries;
  readonly attempts: Attempts;
  readonly oauthStates: OauthStates;
  readonly idempotencyKeys: IdempotencyKeys;
  readonly deliveryOutcomes: DeliveryOutcomes;
  readonly connectionOutcomes: ConnectionOutcomes;
  readonly portalSessions: PortalSessions;

  constructor(
    readonly db: Executor,
    readonly dialect: Dialect,
    /** SQLite: prepared statements for the delivery hot path. */
    readonly raw?: RawSqlite,
    /** SQLite: claims and result batches, off the main thread. */
    readonly queue?: SqliteQueue,
    /** This process's listeners of routing changes (shared by every transaction's Store). */
    readonly routing: RoutingSignals = new RoutingSignals(),
  ) {
    this.organizations = new Organizations(db);
    this.apiKeys = new ApiKeys(db);
    this.accessTokens = new AccessTokens(db);
    this.connections = new Connections(db);
    this.health = new ConnectionHealthStore(db);
    this.subscriptions = new Subscriptions(db);
    this.events = new Events(db, dialect);
    this.deliveries = new Deliveries(db, dialect, raw, queue);
    this.attempts = new Attempts(db, raw);
    this.oauthStates = new OauthStates(db);
    this.idempotencyKeys = new IdempotencyKeys(db);
    this.deliveryOutcomes = new DeliveryOutcomes(db);
    this.connectionOutcomes = new ConnectionOutcomes(db);
    this.portalSessions = new PortalSessions(db);
  }

  /** The store over an opened database, with SQLite's hot-path handle and queue if it has them. */
  static of(database: OpenedDatabase): Store {
    return new Store(database.db, database.dialect, database.raw, database.queue);
  }

  /** Wakes workers in other processes once the transaction commits (PostgreSQL NOTIFY). */
  async signalDue(): Promise<void> {
    if (this.dialect === 'postgres') await sql`select pg_notify(${WAKE_CHANNEL}, '')`.execute(this.db);
  }

  readonly #afterCommit: Array<() => void> = [];

  /**
   * Tells every worker, once the transaction commits, that these subscriptions or connections
   * changed where (or whether) their deliveries go: this process's through `routing`, other
   * processes' through NOTIFY (PostgreSQL).
   */
  async signalRouting(change: RoutingChange): Promise<void> {
    if (this.dialect === 'postgres') await sql`select pg_notify(${WAKE_CHANNEL}, ${routingPayload(change)})`.execute(this.db);
    if (this.db.isTransaction) this.#afterCommit.push(() => this.routing.emit(change));
    else this.routing.emit(change);
  }

  /**
   * `relaxed` (PostgreSQL): the commit need not reach the disk before it returns
   * (`synchronous_commit=off`). For writes whose loss in a power cut only causes a repeat,
   * such as delivery results (at-least-once). The next durable commit flushes them too, so
   * the order of what survives is kept. SQLite's relaxed writes run on the queue's own
   * connection, which commits with synchronous=NORMAL (sqlite-queue-thread.ts).
   */
  transaction<T>(fn: (tx: Store) => Promise<T>, options: { relaxed?: boolean } = {}): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    const db = this.db as Kysely<Database>;
    let tx: Store | undefined;
    const run = (trx: Transaction<Database>) => {
      tx = new Store(trx, this.dialect, this.raw, this.queue, this.routing);
      return fn(tx);
    };
    const committed = (result: T) => {
      const signals = tx ? tx.#afterCommit.splice(0) : [];
      for (const signal of signals) signal();
      return result;
    };
    if (this.dialect === 'sqlite') return retryWhileBusy(() => db.transaction().execute(run)).then(committed);
    if (!options.relaxed) return db.transaction().execute(run).then(committed);
    return db
      .transaction()
      .execute(async (trx) => {
        await sql`set local synchronous_commit = off`.execute(trx);
        return run(trx);
      })
      .then(committed);
  }

  /**
   * Writes one batch of delivery results in one relaxed transaction and returns the ids of
   * the deliveries whose lease still held. SQLite: on the queue (thread or inline).
   */
  async recordResults(batch: ResultBatch): Promise<number[]> {
    const applied = await this.#recordWithRetries(batch);
    if (!this.queue) await this.#addHealth(batch, new Set(applied));
    // A 410 switched subscriptions off: jobs of those connections waiting in lanes go back.
    if (batch.deactivate.length > 0) await this.signalRouting({ connections: batch.deactivate.map((d) => d.connectionId) });
    return applied;
  }

  async #recordWithRetries(batch: ResultBatch): Promise<number[]> {
    if (this.queue) return this.queue.record(batch);
    // A delivery deleted between an attempt's existence check and its insert (another
    // transaction's commit) fails the foreign key: run the batch again, which then drops it.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#recordResults(batch);
      } catch (error) {
        if (attempt >= 5 || !(isForeignKeyViolation(error) || isRetryableConflict(error))) throw error;
      }
    }
  }

  /**
   * PostgreSQL: the connections' health counters, after the results committed, one row each
   * in its own statement. Inside the results transaction the row lock on the connection
   * deadlocked with a concurrent DELETE of it (which locks the connection, then cascades to
   * the deliveries the transaction holds). The counters are advisory: a batch's increment
   * lost to an outage only delays a circuit, so a failure here is not the batch's.
   */
  async #addHealth(batch: ResultBatch, applied: Set<number>): Promise<void> {
    for (const t of healthTallies(batch, applied)) {
      await this.db.executeQuery(CompiledQuery.raw(PG_APPLY_HEALTH, healthParams(t, batch.now))).catch(() => undefined);
    }
  }

  #recordResults(batch: ResultBatch): Promise<number[]> {
    return this.transaction(
      async (tx) => {
        await tx.attempts.insertMany(batch.attempts);
        const applied = new Set(await tx.deliveries.apply(batch.updates, batch.now));
        const released = new Map<number, number[]>();
        for (const r of batch.released) {
          const ids = released.get(r.lease);
          if (ids) ids.push(r.id);
          else released.set(r.lease, [r.id]);
        }
        for (const [lease, ids] of released) await tx.deliveries.release(ids, lease, batch.now);
        for (const d of batch.deactivate) {
          await tx.subscriptions.deactivateForConnection(d.connectionId, d.reason, batch.now);
        }
        for (const [connectionId, c] of finalCounts(batch, applied)) {
          await tx.connections.addStats(connectionId, c.delivered, c.failed, c.delivered > 0 ? batch.now : null);
        }
        const outcomes = outcomeCounts(batch, applied);
        await tx.deliveryOutcomes.add(batch.now, outcomes.succeeded, outcomes.failed);
        for (const c of connectionOutcomeCounts(batch, applied)) {
          await tx.db.executeQuery(CompiledQuery.raw(PG_ADD_CONNECTION_OUTCOMES, connectionOutcomeParams(c.connectionId, batch.now, c.succeeded, c.failed)));
        }
        return [...applied];
      },
      { relaxed: true },
    );
  }
}

/**
 * SQLite: the queue thread's connection held the write lock at BEGIN. Wait a millisecond
 * without blocking the event loop and try again (its transactions last milliseconds).
 */
async function retryWhileBusy<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof BeginBusy) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}
