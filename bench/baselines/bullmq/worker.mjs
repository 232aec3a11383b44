// BullMQ baseline, delivery side: a Worker that POSTs each job's body with undici.
import { Worker } from 'bullmq';
import IORedis from 'ioredis';
import { serveRpc } from '../../lib/rpc.mjs';
import { makeAgent, postSigned } from '../signed-post.mjs';

const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const CONCURRENCY = Number(process.env.BENCH_BULLMQ_CONCURRENCY || 100);
const agent = makeAgent();
let connection;
let worker;

serveRpc({
  async start({ name }) {
    connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    worker = new Worker(name, (job) => postSigned(agent, job.data.url, job.data.body, `msg_${job.id}`, 'bullmq-webhooks/1.0'), {
      connection,
      concurrency: CONCURRENCY,
    });
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
    return { concurrency: CONCURRENCY };
  },
  async close() {
    await worker?.close(true);
    await connection?.quit();
    await agent.close();
    return true;
  },
});
