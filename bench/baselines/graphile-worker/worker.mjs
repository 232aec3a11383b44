// graphile-worker baseline, delivery side: a runner whose `deliver` task POSTs the job's
// body with undici (the same signed POST as the BullMQ baselines). A task that throws is
// retried by graphile-worker; a job that succeeds is deleted.
//
// Tuning (see README.md): BENCH_GRAPHILE_CONCURRENCY jobs at once (default 32),
// BENCH_GRAPHILE_POOL pg connections (default concurrency + 2), and graphile's batching:
// BENCH_GRAPHILE_LOCAL_QUEUE jobs fetched and locked per query (default 500; 0 fetches one
// job per query, graphile's default) and BENCH_GRAPHILE_COMPLETE_BATCH_MS, the window
// completions are grouped in (default 10 ms; -1 completes each job alone, graphile's default).
import { run } from 'graphile-worker';
import { serveRpc } from '../../lib/rpc.mjs';
import { makeAgent, postSigned } from '../signed-post.mjs';
import { quietLogger } from './quiet-logger.mjs';

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const setting = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
const CONCURRENCY = setting('BENCH_GRAPHILE_CONCURRENCY', 32);
const POOL = setting('BENCH_GRAPHILE_POOL', CONCURRENCY + 2);
const LOCAL_QUEUE = setting('BENCH_GRAPHILE_LOCAL_QUEUE', 500);
const COMPLETE_BATCH_MS = setting('BENCH_GRAPHILE_COMPLETE_BATCH_MS', 10);
const agent = makeAgent();
let runner;

const taskList = {
  deliver: async (payload, helpers) => {
    await postSigned(agent, payload.url, payload.body, `msg_${helpers.job.id}`, 'graphile-webhooks/1.0');
  },
};

serveRpc({
  async start({ schema }) {
    runner = await run({
      connectionString: POSTGRES_URL,
      schema,
      concurrency: CONCURRENCY,
      maxPoolSize: POOL,
      taskList,
      noHandleSignals: true,
      logger: quietLogger,
      preset: {
        worker: {
          ...(LOCAL_QUEUE > 1 ? { localQueue: { size: LOCAL_QUEUE } } : {}),
          completeJobBatchDelay: COMPLETE_BATCH_MS,
          failJobBatchDelay: COMPLETE_BATCH_MS,
        },
      },
    });
    return { concurrency: CONCURRENCY, pool: POOL, localQueue: LOCAL_QUEUE, completeJobBatchDelayMs: COMPLETE_BATCH_MS };
  },
  async close() {
    await runner?.stop();
    await agent.close();
    return true;
  },
});
