import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import type { ClaimRequest, ClaimedDelivery, DeliveryQueue, ResultBatch } from '../queue.js';
import type { Database } from '../schema.js';
import { threadScript } from '../thread-script.js';
import { claimDue } from './claim.js';
import type { QueueReply, QueueRequest } from './queue-thread.js';
import type { RawSqlite } from './raw.js';
import { recordResults } from './results.js';

/** Claims and result batches on SQLite: on the queue thread for a file, inline for `:memory:`. */
export function sqliteQueue(file: string, raw: RawSqlite, db: Kysely<Database>): DeliveryQueue {
  // An in-memory database exists on its own connection only.
  return file === ':memory:' ? new InlineQueue(raw, db) : new ThreadQueue(file);
}

/** Started on first use, so processes that only serve the API never start it. */
class ThreadQueue implements DeliveryQueue {
  #worker: Worker | undefined;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();

  constructor(private readonly file: string) {}

  claim(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    return this.#call({ id: this.#next++, op: 'claim', args: request });
  }

  record(batch: ResultBatch): Promise<number[]> {
    return this.#call({ id: this.#next++, op: 'record', args: batch });
  }

  #call<T>(request: QueueRequest): Promise<T> {
    const worker = this.#worker ?? this.#start();
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(request.id, { resolve: resolve as (value: never) => void, reject });
      worker.postMessage(request);
    });
  }

  #start(): Worker {
    // The thread holds one batch at a time: a small heap keeps V8 from growing it (and the
    // process's resident memory) just because memory is there.
    const worker = new Worker(threadScript('store/sqlite/queue-thread.js'), {
      workerData: { file: this.file },
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
    });
    worker.on('message', (reply: QueueReply) => {
      const call = this.#pending.get(reply.id);
      if (!call) return;
      this.#pending.delete(reply.id);
      if ('error' in reply) call.reject(new Error(reply.error));
      else call.resolve(reply.result as never);
    });
    const fail = (error: Error) => {
      this.#worker = undefined;
      for (const call of this.#pending.values()) call.reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite queue thread exited (${code})`)));
    this.#worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }
}

class InlineQueue implements DeliveryQueue {
  constructor(
    private readonly raw: RawSqlite,
    private readonly db: Kysely<Database>,
  ) {}

  claim(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    return this.raw.relaxedTransaction(this.db, () => claimDue(this.raw, request));
  }

  record(batch: ResultBatch): Promise<number[]> {
    return this.raw.relaxedTransaction(this.db, () => recordResults(this.raw, batch));
  }

  async close(): Promise<void> {}
}
