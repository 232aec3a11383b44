import { type Kysely, type Transaction, sql } from 'kysely';
import { AccessTokens } from './access-tokens.js';
import { ApiKeys } from './api-keys.js';
import { Attempts } from './attempts.js';
import { ConnectionHealthStore } from './connection-health.js';
import { Connections } from './connections.js';
import type { OpenedDatabase } from './database.js';
import { Deliveries } from './deliveries.js';
import { DeliveryOutcomes } from './delivery-outcomes.js';
import { Events } from './events.js';
import { IdempotencyKeys } from './idempotency.js';
import { OauthStates } from './oauth-states.js';
import { Organizations } from './organizations.js';
import type { Dialect, Executor } from './executor.js';
import type { DeliveryQueue, ResultBatch } from './queue.js';
import { ConnectionOutcomes } from './connection-outcomes.js';
import { PortalSessions } from './portal-sessions.js';
import type { Database } from './schema.js';
import { type RoutingChange, RoutingSignals, routingPayload } from './routing-signals.js';
import { Subscriptions } from './subscriptions.js';
import { BUSY_TIMEOUT_MS, BeginBusy, type RawSqlite } from './sqlite/raw.js';

export const WAKE_CHANNEL = 'herald_due';

export type { Executor } from './executor.js';

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
    /** SQLite: prepared statements for the fan-out. */
    readonly raw?: RawSqlite,
    /** Claims and result batches: the dialect's hot path (sqlite/, postgres/). */
    readonly queue?: DeliveryQueue,
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
   * `fn` in one transaction, on a Store bound to it (inside one already, it joins it); the
   * routing signals it queued are emitted once it commits. SQLite: BEGIN IMMEDIATE, retried
   * without blocking while the queue thread holds the write lock.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
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
    return db.transaction().execute(run).then(committed);
  }

  /**
   * Writes one batch of delivery results in one relaxed transaction (the dialect's queue)
   * and returns the ids of the deliveries whose lease still held.
   */
  async recordResults(batch: ResultBatch): Promise<number[]> {
    if (!this.queue) throw new Error('this store has no delivery queue');
    const applied = await this.queue.record(batch);
    // A 410 switched subscriptions off: jobs of those connections waiting in lanes go back.
    if (batch.deactivate.length > 0) await this.signalRouting({ connections: batch.deactivate.map((d) => d.connectionId) });
    return applied;
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
