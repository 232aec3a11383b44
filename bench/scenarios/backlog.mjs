// 6. Backlog: a `--role api` Herald queues events × 100 deliveries; then a `--role worker`
// process starts on the same database and drains them. Ingest rate, drain rate, the
// worker's peak memory (VmHWM from /proc/<pid>/status, sampled VmRSS alongside).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fmtInt, fmtRatio, now, verdict } from '../lib/common.mjs';
import { partialNote, startHerald, waitForDeliveries } from '../lib/herald.mjs';
import { subscribeAll } from '../lib/api.mjs';
import { Scope, cpuMsOf, memoryOf } from '../lib/procs.mjs';

function fileMb(path) {
  try {
    return statSync(path).size / 1024 / 1024;
  } catch {
    return 0;
  }
}

export async function backlog(ctx) {
  const scope = new Scope('backlog');
  try {
    const endpoints = 100;
    const events = ctx.sizes.backlogEvents;
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const lg = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen');
    const { urls } = await rx.call('start', { endpoints });
    const h = await startHerald(scope, { roles: ['api', 'worker'], startWorkers: false });
    await subscribeAll(h.api, h.key, urls);
    await rx.call('reset');
    const sent = await lg.call('batches', { baseUrl: h.api.baseUrl, auth: h.key.basic, events, batchSize: 100, concurrency: 2 });
    const ingestSeconds = (sent.end - sent.start) / 1000;
    const dbFile = join(h.dataDir, 'herald.db');
    const dbMb = fileMb(dbFile) + fileMb(`${dbFile}-wal`);
    ctx.log(`  queued ${fmtInt(sent.deliveries)} deliveries in ${ingestSeconds.toFixed(1)} s; starting the worker`);

    const workerStart = now();
    const [worker] = await h.startWorkers();
    const cpuBefore = cpuMsOf(worker.pid);
    let peakSampledRss = 0;
    const samples = [];
    const sampler = setInterval(() => {
      const m = memoryOf(worker.pid);
      if (m.rssMb > peakSampledRss) peakSampledRss = m.rssMb;
      samples.push(Math.round(m.rssMb));
    }, 250);
    let done;
    try {
      done = await waitForDeliveries(rx, sent.deliveries, { watch: [worker, h.api], budgetMs: ctx.sizes.drainBudgetMs });
    } finally {
      clearInterval(sampler);
    }
    const mem = memoryOf(worker.pid);
    const cpuSeconds = (cpuMsOf(worker.pid) - cpuBefore) / 1000;
    const drainSeconds = (done.end - done.first) / 1000;
    const drain = done.distinct / drainSeconds;
    const ingest = sent.deliveries / ingestSeconds;
    const peakMb = Math.max(mem.hwmMb, peakSampledRss);
    const vsThroughput = drain / ctx.throughput;
    return {
      events,
      deliveries: sent.deliveries,
      ingest: { seconds: ingestSeconds, deliveriesPerSecond: ingest, eventsPerSecond: events / ingestSeconds, batchAckMs: sent.batchAck },
      databaseMb: dbMb,
      drain: {
        seconds: drainSeconds,
        delivered: done.distinct,
        partial: done.partial,
        deliveriesPerSecond: drain,
        workerStartToFirstDeliveryMs: done.first - workerStart,
        duplicates: done.duplicates,
        workerCpuShare: cpuSeconds / ((done.end - workerStart) / 1000),
      },
      worker: { peakRssMb: peakMb, vmHwmMb: mem.hwmMb, rssSamplesMb: samples },
      ratioToThroughput: vsThroughput,
      rows: [
        {
          scenario: `6 backlog ingest (${fmtInt(sent.deliveries)} deliveries, --role api)`,
          figure: `${fmtInt(ingest)} deliveries/s queued (${fmtInt(events / ingestSeconds)} events/s, ${ingestSeconds.toFixed(1)} s; db ${fmtInt(dbMb)} MB)`,
          ratio: `${fmtRatio(ingest / ctx.ceiling)} ceiling`,
          target: '—',
          met: '',
        },
        {
          scenario: '6 backlog drain (--role worker)',
          figure: `${fmtInt(drain)} deliveries/s (${drainSeconds.toFixed(1)} s; first delivery ${fmtInt(done.first - workerStart)} ms after start)${partialNote(done, ctx.sizes.drainBudgetMs)}`,
          ratio: ctx.throughput ? `${fmtRatio(vsThroughput)} ${ctx.throughputLabel}` : `${fmtRatio(drain / ctx.ceiling)} ceiling (2 not run)`,
          target: '≥ 0.8× scenario 2',
          met: verdict(vsThroughput >= 0.8, vsThroughput),
        },
        {
          scenario: '6 backlog worker memory',
          figure: `peak RSS ${fmtInt(peakMb)} MB`,
          ratio: '—',
          target: '≤ 300 MB',
          met: verdict(peakMb <= 300, peakMb),
        },
      ],
    };
  } finally {
    await scope.close();
  }
}
