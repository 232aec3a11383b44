// graphile-worker baseline, enqueue side: its schema migrated into a fresh schema of the
// run's own, then one `deliver` job per (event, endpoint) added with addJobs (graphile's
// add_jobs, one statement per chunk). No maxAttempts given: graphile's default (25
// attempts, exponential backoff of exp(min(attempt, 10)) seconds).
import { makeWorkerUtils } from 'graphile-worker';
import { now, parcelEvent } from '../../lib/common.mjs';
import { serveRpc } from '../../lib/rpc.mjs';
import { quietLogger } from './quiet-logger.mjs';

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const CHUNK = 1000;
let utils;

serveRpc({
  /** `{ schema }`: creates graphile-worker's tables and functions in `schema`. */
  async open({ schema }) {
    utils = await makeWorkerUtils({ connectionString: POSTGRES_URL, schema, logger: quietLogger });
    await utils.migrate();
    return true;
  },
  /** `{ events, urls, firstId }`: enqueues events × urls jobs; returns first and last enqueue times. */
  async produce({ events, urls, firstId = 1 }) {
    const start = now();
    let added = 0;
    let jobs = [];
    for (let e = 0; e < events; e++) {
      const body = JSON.stringify(parcelEvent(firstId + e));
      for (const url of urls) jobs.push({ identifier: 'deliver', payload: { url, body } });
      if (jobs.length >= CHUNK || e === events - 1) {
        await utils.addJobs(jobs);
        added += jobs.length;
        jobs = [];
      }
    }
    return { start, end: now(), jobs: added };
  },
  async close() {
    await utils?.release();
    return true;
  },
});
