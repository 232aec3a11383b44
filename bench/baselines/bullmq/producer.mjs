// BullMQ baseline, enqueue side: one job per (event, endpoint), added in bulk.
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { now, parcelEvent } from '../../lib/common.mjs';
import { serveRpc } from '../../lib/rpc.mjs';
import { jobChunks } from './job-options.mjs';

const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
let connection;
let queue;

serveRpc({
  async open({ name }) {
    connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue(name, { connection });
    await queue.waitUntilReady();
    return true;
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
  async close() {
    if (queue) {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await connection?.quit();
    return true;
  },
});
