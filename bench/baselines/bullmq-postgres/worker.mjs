// BullMQ-on-PostgreSQL baseline, delivery side: the same Worker and undici POST as the
// Redis baseline, on BullMQ 6's PostgreSQL backend. Its pg pool (`max`) is sized for the
// concurrency, as BullMQ's guide asks: every job's completion (which also fetches the next
// job) is one query, so a pool smaller than the jobs in flight queues them.
import { Worker, createPostgresBackend } from 'bullmq';
import { serveRpc } from '../../lib/rpc.mjs';
import { makeAgent, postSigned } from '../signed-post.mjs';

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const CONCURRENCY = Number(process.env.BENCH_BULLMQ_CONCURRENCY || 100);
const POOL = Number(process.env.BENCH_BULLMQ_PG_POOL || 20);
const agent = makeAgent();
let worker;

serveRpc({
  async start({ name, schema }) {
    worker = new Worker(
      name,
      (job) => postSigned(agent, job.data.url, job.data.body, `msg_${job.id}`, 'bullmq-webhooks/1.0'),
      { connection: { connectionString: POSTGRES_URL, schema, max: POOL }, concurrency: CONCURRENCY },
      createPostgresBackend,
    );
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
    return { concurrency: CONCURRENCY, pool: POOL };
  },
  async close() {
    await worker?.close(true);
    await agent.close();
    return true;
  },
});
