import { isDatabaseUnavailable } from './errors.js';

/** A commit's answer for an item it left for the next commit (e.g. over its size budget). */
export const DEFER: unique symbol = Symbol('defer');

export type Outcome<Out> = Out | Error | typeof DEFER;

interface Pending<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: callers hand in work; while one transaction runs, new work queues up and
 * the next transaction takes all of it at once. Under load that is one commit (one fsync)
 * for many callers; when idle, a caller waits for nothing but its own commit.
 *
 * `commit` answers each item: its result, its own Error (only that caller fails), or DEFER
 * (it goes back to the head of the queue for the next commit; a commit must answer at least
 * one item otherwise, so that every commit makes progress). A commit that throws is split in halves that
 * are committed on their own, down to single items: one caller's bad request fails that
 * caller alone, not the others that happened to share its transaction.
 */
export class GroupCommit<In, Out> {
  #queue: Array<Pending<In, Out>> = [];
  #running = false;

  constructor(
    private readonly commit: (items: In[]) => Promise<Array<Outcome<Out>>>,
    private readonly maxBatch = 1000,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        // One turn of the event loop: every request already readable gets parsed and joins
        // this batch, at no cost in latency. (better-sqlite3 runs synchronously: little
        // queues up *during* a commit.)
        await new Promise((resolve) => setImmediate(resolve));
        await this.#commitIsolated(this.#queue.splice(0, this.maxBatch));
      }
    } finally {
      this.#running = false;
    }
  }

  async #commitIsolated(batch: Array<Pending<In, Out>>): Promise<void> {
    let results: Array<Outcome<Out>>;
    try {
      results = await this.commit(batch.map((b) => b.item));
    } catch (error) {
      // Splitting cannot help when the database itself is away: every caller hears so now.
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const b of batch) b.reject(error);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await this.#commitIsolated(batch.slice(0, half));
      await this.#commitIsolated(batch.slice(half));
      return;
    }
    const deferred: Array<Pending<In, Out>> = [];
    batch.forEach((b, i) => {
      const r = results[i];
      if (r === DEFER) deferred.push(b);
      else if (r instanceof Error) b.reject(r);
      else b.resolve(r as Out);
    });
    if (deferred.length === batch.length) {
      // Deferring everything would loop forever: the first item fails instead.
      deferred.shift()?.reject(new Error('group commit: a commit deferred every item'));
    }
    // First in the queue: a deferred request is not overtaken by later ones.
    this.#queue.unshift(...deferred);
  }

  get idle(): boolean {
    return !this.#running && this.#queue.length === 0;
  }
}
