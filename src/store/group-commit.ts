/**
 * Group commit: callers hand in work; while one transaction runs, new work queues up and
 * the next transaction takes all of it at once. Under load that is one commit (one fsync)
 * for many callers; when idle, a caller waits for nothing but its own commit.
 */
export class GroupCommit<In, Out> {
  #queue: Array<{ item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }> = [];
  #running = false;

  constructor(
    private readonly commit: (items: In[]) => Promise<Array<Out | Error>>,
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
        // this batch, at no cost in latency. (better-sqlite3 runs synchronously: nothing
        // queues up *during* a commit.)
        await new Promise((resolve) => setImmediate(resolve));
        const batch = this.#queue.splice(0, this.maxBatch);
        try {
          const results = await this.commit(batch.map((b) => b.item));
          batch.forEach((b, i) => {
            const r = results[i];
            if (r instanceof Error) b.reject(r);
            else b.resolve(r as Out);
          });
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  get idle(): boolean {
    return !this.#running && this.#queue.length === 0;
  }
}
