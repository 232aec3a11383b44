// 3. Latency: single POST /events at a fixed rate to one subscription; ingest-to-receipt
// is the receiver's arrival time minus the send time the load generator put in the body.
// Beside the distribution: a per-second series (p50/p99 by send second) and Herald's own
// per-second timeline (lib/timeline.mjs: event-loop delay, GC pauses, SQL time by kind), so
// a tail can be traced to the second it happened in and to what Herald did then.
// 3b (`latency-postgres`): the same on PostgreSQL, with one --role api and one --role worker.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmtInt, fmtMs, sleep, verdict } from '../lib/common.mjs';
import { startHerald, waitForDeliveries } from '../lib/herald.mjs';
import { subscribeAll } from '../lib/api.mjs';
import { Scope } from '../lib/procs.mjs';

export function latencyPostgres(ctx) {
  return latency(ctx, { db: 'postgres' });
}

export async function latency(ctx, { db = 'sqlite' } = {}) {
  const scope = new Scope(db === 'sqlite' ? 'latency' : 'latency-postgres');
  const targets = db === 'sqlite' ? { p50: 5, p99: 50 } : { p50: 10, p99: 100 };
  try {
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const lg = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen');
    const { urls } = await rx.call('start', { endpoints: 1, latency: true });
    const timelineDir = scope.tempDir();
    const h = await startHerald(scope, {
      db,
      roles: db === 'sqlite' ? ['all'] : ['api', 'worker'],
      nodeArgs: ['--import', pathToFileURL(ctx.file('lib/timeline.mjs')).href],
      env: { BENCH_TIMELINE_FILE: join(timelineDir, 'timeline') },
    });
    await subscribeAll(h.api, h.key, urls);
    const rate = ctx.sizes.latencyRate;
    // Warm-up (not timed, tagged "w:"): one second at the same rate, so JIT and connections
    // are warm. Its late deliveries, if any, still load Herald during the measured part.
    const tail = ctx.sizes.latencyTailMs;
    const warm = await lg.call('rate', { baseUrl: h.api.baseUrl, auth: h.key.basic, rate, durationMs: ctx.sizes.latencyWarmupMs, ackBudgetMs: tail, tag: 'w' });
    // The measured part starts once the warm-up's deliveries have arrived: a cold process
    // falls behind at first, and its backlog would otherwise be counted as the first
    // measured seconds' latency (the per-second series showed 0.3–0.5 s for 3 s).
    const warmedBy = Date.now() + tail;
    while ((await rx.call('report')).ignored < warm.sent && Date.now() < warmedBy) await sleep(50);
    await sleep(500);
    await rx.call('reset');
    const measuredFrom = Math.floor(Date.now() / 1000);
    const sent = await lg.call('rate', { baseUrl: h.api.baseUrl, auth: h.key.basic, rate, durationMs: ctx.sizes.latencyMs, ackBudgetMs: tail });
    if (sent.errors > 0) throw new Error(`${sent.errors} of ${sent.sent} events refused (${sent.firstError})`);
    // Deliveries still missing after the tail budget are slower than every figure shown:
    // the percentiles are then lower bounds (marked ≥).
    const done = await waitForDeliveries(rx, sent.sent, { watch: [h.api], budgetMs: tail });
    const report = await rx.call('report');
    const l = report.latency;
    const ge = done.partial ? '≥ ' : '';
    const met = !done.partial && l.p50 <= targets.p50 && l.p99 <= targets.p99;
    const timeline = readTimeline(timelineDir, measuredFrom);
    return {
      rate,
      seconds: sent.seconds,
      events: sent.sent,
      unacknowledged: sent.unacked,
      received: done.distinct,
      partial: done.partial,
      achievedRate: sent.sent / sent.seconds,
      ingestToReceiptMs: l,
      ackMs: sent.ack,
      duplicates: report.duplicates,
      perSecond: joinSeries(report.latencyPerSecond, timeline),
      rows: [
        {
          scenario: `${db === 'sqlite' ? '3 latency' : '3b latency, PostgreSQL (1 api + 1 worker)'} (${fmtInt(rate)} ev/s × ${sent.seconds} s, 1 sub)`,
          figure: `p50 ${ge}${fmtMs(l.p50)}, p99 ${ge}${fmtMs(l.p99)}, max ${ge}${fmtMs(l.max)} (202 ack p50 ${fmtMs(sent.ack.p50)}, p99 ${fmtMs(sent.ack.p99)})${done.partial ? `; ${fmtInt(sent.sent - done.distinct)} of ${fmtInt(sent.sent)} not delivered ≤ ${(2 * tail) / 1000} s after the last send` : ''}`,
          ratio: '—',
          target: `p50 ≤ ${targets.p50} ms, p99 ≤ ${targets.p99} ms`,
          met: verdict(met, l.p50),
        },
      ],
    };
  } finally {
    await scope.close();
  }
}

/** Every thread's timeline lines from `from` (epoch second) on, by second: { second: [{ thread, …}] }. */
function readTimeline(dir, from) {
  const bySecond = new Map();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.other'))) {
    const lines = readFileSync(join(dir, name), 'utf8').trim().split('\n');
    console.error(`${name}: ${lines.at(-2) ?? lines.at(-1)}`);
  }
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    const [, pid, thread] = name.split('.');
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line);
      if (entry.second < from) continue;
      const list = bySecond.get(entry.second) ?? [];
      list.push({ pid, thread, ...entry });
      bySecond.set(entry.second, list);
    }
  }
  return bySecond;
}

/** The receiver's per-second latencies beside what Herald's threads did in that second. */
function joinSeries(latencyPerSecond = [], timeline) {
  return latencyPerSecond.map((l) => {
    const threads = timeline.get(l.second) ?? [];
    const sql = {};
    for (const t of threads) {
      for (const [kind, v] of Object.entries(t.sql)) {
        const k = (sql[kind] ??= { n: 0, ms: 0, maxMs: 0 });
        k.n += v.n;
        k.ms = +(k.ms + v.ms).toFixed(2);
        k.maxMs = Math.max(k.maxMs, v.maxMs);
      }
    }
    return {
      ...l,
      loopMaxMs: Math.max(0, ...threads.filter((t) => t.thread === '0').map((t) => t.loopMaxMs)),
      gcMaxMs: Math.max(0, ...threads.map((t) => t.gcMaxMs)),
      sql,
    };
  });
}
