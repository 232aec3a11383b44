// BullMQ baseline, delivery side: a Worker that POSTs each job's body with undici.
import { createHmac, randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import IORedis from 'ioredis';
import { Agent, request } from 'undici';
import { serveRpc } from '../../lib/rpc.mjs';

const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const CONCURRENCY = Number(process.env.BENCH_BULLMQ_CONCURRENCY || 100);
const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
const signingKey = randomBytes(32);
let connection;
let worker;

async function deliver(job) {
  const id = `msg_${job.id}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', signingKey).update(`${id}.${timestamp}.${job.data.body}`).digest('base64');
  const res = await request(job.data.url, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'bullmq-webhooks/1.0',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${signature}`,
    },
    body: job.data.body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`endpoint answered ${res.statusCode}`);
  return res.statusCode;
}

serveRpc({
  async start({ name }) {
    connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    worker = new Worker(name, deliver, { connection, concurrency: CONCURRENCY });
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
