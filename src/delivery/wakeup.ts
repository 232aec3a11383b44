import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import { type RoutingChange, parseRoutingPayload } from '../store/routing-signals.js';
import { WAKE_CHANNEL } from '../store/store.js';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/**
 * Tells idle workers that work is due: in-process after a local commit, and across
 * processes through PostgreSQL LISTEN/NOTIFY (the NOTIFY is sent inside the commit).
 * The LISTEN connection is kept for as long as the process runs: when the server goes away
 * (restart, failover, a terminated backend) it reconnects with back-off until it is back,
 * and wakes the workers once it is, since notifications sent meanwhile were lost.
 */
export class Wakeup {
  readonly #emitter = new EventEmitter();
  #client: pg.Client | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger) {
    this.#emitter.setMaxListeners(0);
  }

  wake(): void {
    this.#emitter.emit('wake');
  }

  onWake(listener: () => void): () => void {
    this.#emitter.on('wake', listener);
    return () => this.#emitter.off('wake', listener);
  }

  /** A committed routing change, from this process or (PostgreSQL) another one. */
  routing(change: RoutingChange): void {
    this.#emitter.emit('routing', change);
  }

  onRouting(listener: (change: RoutingChange) => void): () => void {
    this.#emitter.on('routing', listener);
    return () => this.#emitter.off('routing', listener);
  }

  /** Resolves once listening; a first failure is thrown (the caller cannot start without the database). */
  async listen(config: pg.ClientConfig): Promise<void> {
    await this.#connect(config);
  }

  async #connect(config: pg.ClientConfig): Promise<void> {
    const client = new pg.Client(config);
    client.on('notification', (message) => {
      const change = parseRoutingPayload(message.payload);
      if (change) this.routing(change);
      else this.wake();
    });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => undefined);
      if (this.#closed) return;
      this.logger.warn({ err: error }, 'LISTEN connection lost; reconnecting');
      this.#reconnect(config, RECONNECT_MIN_MS);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
    } catch (error) {
      lost = true;
      void client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.wake();
  }

  #reconnect(config: pg.ClientConfig, wait: number): void {
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed) return;
      this.#connect(config).then(
        () => this.logger.info('LISTEN connection restored'),
        (error: unknown) => {
          const next = Math.min(RECONNECT_MAX_MS, wait * 2);
          this.logger.warn({ err: error, retry_in_ms: next }, 'LISTEN reconnect failed; trying again');
          this.#reconnect(config, next);
        },
      );
    }, wait);
    this.#retryTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#emitter.removeAllListeners();
    await this.#client?.end().catch(() => undefined);
  }
}
