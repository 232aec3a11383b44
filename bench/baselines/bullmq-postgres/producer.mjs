// BullMQ-on-PostgreSQL baseline, enqueue side: BullMQ 6's PostgreSQL backend
// (`createPostgresBackend`), migrated into a fresh schema of the run's own, then one job
// per (event, endpoint) added in bulk with the same options as the Redis baseline.
import { Queue, createPostgresBackend, runMigrations } from 'bullmq';
import pg from 'pg';
import { now, parcelEvent, sleep } from '../../lib/common.mjs';
import { serveRpc } from '../../lib/rpc.mjs';
import { jobChunks } from '../bullmq/job-options.mjs';

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
let queue;

serveRpc({
  /** `{ name, schema }`: creates BullMQ's tables and functions in `schema` and opens the queue. */
  async open({ name, schema }) {
    // BullMQ's connections do not migrate by themselves: one deployment step does it.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    let version;
    try {
      version = await runMigrations(client, schema);
    } finally {
      await client.end();
    }
    queue = new Queue(name, { connection: { connectionString: POSTGRES_URL, schema } }, createPostgresBackend);
    await queue.waitUntilReady();
    return { schemaVersion: version };
  },
  /** `{ events, urls, firstId }`: enqueues events × urls jobs; returns first and last enqueue times. */
  async produce({ events, urls, firstId = 1 }) {
    const start = now();
    let added = 0;
    for (const jobs of jobChunks(events, urls, firstId, parcelEvent)) {
      await queue.addBulk(jobs);
      added += jobs.length;
    }
    return { start, end: now(), jobs: added };
  },
  /**
   * What BullMQ keeps of the run: its job counts by state, once the jobs still finishing
   * (delivered, completion not yet committed) are done, at most 5 s later.
   */
  async counts() {
    const deadline = Date.now() + 5000;
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
      if (counts.active + counts.waiting === 0 || Date.now() > deadline) return counts;
      await sleep(100);
    }
  },
  async close() {
    await queue?.close();
    return true;
  },
});
