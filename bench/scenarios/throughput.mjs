// 2. Throughput (SQLite), and the shared run behind 5 (isolation), 8 (PostgreSQL) and the profile.
import { fmtInt, fmtRatio, median, sleep, verdict } from '../lib/common.mjs';
import { partialNote, startHerald, waitForDeliveries } from '../lib/herald.mjs';
import { subscribeAll } from '../lib/api.mjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Scope, cpuMsOf, freePort } from '../lib/procs.mjs';
import { connectInspector } from '../lib/inspector.mjs';
import { postgresCpuMsBetween, readPostgresCpu } from '../lib/postgres-cpu.mjs';

/**
 * One run: a fresh Herald, `endpoints` connections with one subscription each (the
 * `hang` ones never answer, timeout_ms 10000), `events` events through /events/batch.
 * Rate = deliveries at the answering endpoints / (last delivery − first batch sent).
 * `profile: 'cpu'` CPU-profiles the (first) Herald process over exactly that window;
 * `profile: 'sql'` times its SQLite statements instead (instrumented, so not both at once).
 * `nodeArgs` and `env` go to every Herald process; `collect({ api, workers })`, called
 * after the last delivery and before cleanup, adds its answer to the result as `collected`.
 * On PostgreSQL the result also has the server's CPU share over the window.
 */
export async function throughputRun(ctx, { label, events, endpoints = 100, hang = [], db = 'sqlite', roles = ['all'], profile = false, nodeArgs = [], env = {}, collect }) {
  const scope = new Scope(label);
  try {
    const setupStart = Date.now();
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const lg = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen');
    const inspectPort = profile === 'cpu' ? await freePort() : undefined;
    const sqlFile = profile === 'sql' ? join(scope.tempDir(), 'sql-timing.json') : undefined;
    const [{ urls }, h] = await Promise.all([
      rx.call('start', { endpoints, hang }),
      startHerald(scope, {
        db,
        roles,
        nodeArgs: [
          ...nodeArgs,
          ...(profile === 'cpu'
            ? [`--inspect=127.0.0.1:${inspectPort}`]
            : profile === 'sql'
              ? ['--import', pathToFileURL(ctx.file('lib/sql-timing.mjs')).href]
              : []),
        ],
        env: { ...env, ...(profile === 'sql' ? { BENCH_SQL_TIMING_FILE: sqlFile } : {}) },
      }),
    ]);
    const inspector = profile === 'cpu' ? await connectInspector(inspectPort) : undefined;
    const sqlTiming = async () => {
      const before = existsSync(sqlFile) ? JSON.parse(readFileSync(sqlFile, 'utf8')).at : 0;
      process.kill(h.api.pid, 'SIGUSR2');
      for (let i = 0; i < 100; i++) {
        await sleep(20);
        if (existsSync(sqlFile)) {
          const t = JSON.parse(readFileSync(sqlFile, 'utf8'));
          if (t.at !== before) return t;
        }
      }
      return undefined;
    };

    const hanging = new Set(hang);
    const heraldReady = Date.now();
    await subscribeAll(h.api, h.key, urls, { concurrency: 16, configure: (i) => (hanging.has(i) ? { timeout_ms: 10_000 } : {}) });
    const setupMs = { heraldStart: heraldReady - setupStart, subscriptions: Date.now() - heraldReady };
    await rx.call('reset');
    const processes = [h.api, ...h.workers];
    if (sqlFile) await sqlTiming(); // starts the statement counts afresh
    await inspector?.start();
    const cpuBefore = processes.map((p) => cpuMsOf(p.pid));
    const postgresBefore = db === 'postgres' ? readPostgresCpu() : undefined;
    const expected = events * (endpoints - hang.length);
    const budgetMs = ctx.sizes.deliveryBudgetMs;
    const arrived = waitForDeliveries(rx, expected, { watch: processes, budgetMs });
    arrived.catch(() => undefined);
    const sent = await lg.call('batches', { baseUrl: h.api.baseUrl, auth: h.key.basic, events, batchSize: 100 });
    const done = await arrived;
    const cpuAfter = processes.map((p) => cpuMsOf(p.pid));
    const postgresMs = postgresBefore ? postgresCpuMsBetween(postgresBefore, readPostgresCpu()) : undefined;
    const cpuProfile = await inspector?.stop();
    inspector?.close();
    const sql = sqlFile ? await sqlTiming() : undefined;
    const seconds = (done.end - sent.start) / 1000;
    const report = await rx.call('report');
    const collected = collect ? await collect({ api: h.api, workers: h.workers }) : undefined;
    return {
      deliveries: done.distinct,
      target: expected,
      partial: done.partial,
      note: partialNote(done, budgetMs),
      perSecond: done.distinct / seconds,
      seconds,
      ingestSeconds: (sent.end - sent.start) / 1000,
      setupMs,
      firstDeliveryMs: done.first - sent.start,
      duplicates: done.duplicates,
      hungRequests: done.hung,
      perEndpoint: done.perEndpoint,
      receiverConnections: done.connections,
      perSecondTimeline: report.perSecond,
      heraldCpuSeconds: processes.map((p, i) => (cpuAfter[i] - cpuBefore[i]) / 1000),
      heraldCpuShare: processes.map((p, i) => (cpuAfter[i] - cpuBefore[i]) / 1000 / seconds),
      ...(postgresMs !== undefined ? { postgresCpuShare: postgresMs / 1000 / seconds } : {}),
      ...(collected ? { collected } : {}),
      ...(cpuProfile ? { cpuProfile } : {}),
      ...(sql ? { sql } : {}),
    };
  } finally {
    await scope.close();
  }
}

export async function throughput(ctx) {
  const runs = [];
  for (let i = 0; i < ctx.sizes.throughputRuns; i++) {
    const run = await throughputRun(ctx, { label: `throughput-${i + 1}`, events: ctx.sizes.events });
    ctx.log(`  run ${i + 1}: ${fmtInt(run.perSecond)} deliveries/s (${fmtInt(run.deliveries)} in ${run.seconds.toFixed(2)} s, Herald CPU ${(run.heraldCpuShare[0] * 100).toFixed(0)}%)${run.note}`);
    runs.push(run);
  }
  const value = median(runs.map((r) => r.perSecond));
  ctx.throughput = value;
  const ratio = value / ctx.ceiling;
  return {
    perSecond: value,
    ratioToCeiling: ratio,
    runs,
    rows: [
      {
        scenario: `2 throughput, SQLite (${fmtInt(runs[0].target)} deliveries)`,
        figure: `${fmtInt(value)} deliveries/s (median of ${runs.length}: ${runs.map((r) => fmtInt(r.perSecond)).join(', ')})${runs.some((r) => r.partial) ? ' (partial: budget reached)' : ''}`,
        ratio: `${fmtRatio(ratio)} ceiling`,
        target: '≥ 0.65× ceiling',
        met: verdict(ratio >= 0.65, ratio),
      },
    ],
  };
}
