import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import { WAKE_CHANNEL } from '../store/store.js';

/**
 * Tells idle workers that work is due: in-process after a local commit, and across
 * processes through PostgreSQL LISTEN/NOTIFY (the NOTIFY is sent inside the commit).
 */
export class Wakeup {
  readonly #emitter = new EventEmitter();
  #client: pg.Client | undefined;
  #closed = false;

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

  async listen(config: pg.ClientConfig): Promise<void> {
    const connect = async () => {
      const client = new pg.Client(config);
      client.on('notification', () => this.wake());
      client.on('error', (error) => {
        this.logger.warn({ err: error }, 'LISTEN connection lost; reconnecting');
        this.#client = undefined;
        void client.end().catch(() => undefined);
        if (!this.#closed) setTimeout(() => void connect().catch(() => undefined), 1000);
      });
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
      this.#client = client;
      this.wake();
    };
    await connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#emitter.removeAllListeners();
    await this.#client?.end().catch(() => undefined);
  }
}
