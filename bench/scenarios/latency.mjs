// 3. Latency: single POST /events at a fixed rate to one subscription; ingest-to-receipt
// is the receiver's arrival time minus the send time the load generator put in the body.
import { fmtInt, fmtMs, sleep, verdict } from '../lib/common.mjs';
import { startHerald, waitForDeliveries } from '../lib/herald.mjs';
import { subscribeAll } from '../lib/api.mjs';
import { Scope } from '../lib/procs.mjs';

export async function latency(ctx) {
  const scope = new Scope('latency');
  try {
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const lg = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen');
    const { urls } = await rx.call('start', { endpoints: 1, latency: true });
    const h = await startHerald(scope, {});
    await subscribeAll(h.api, h.key, urls);
    const rate = ctx.sizes.latencyRate;
    // Warm-up (not timed, tagged "w:"): one second at the same rate, so JIT and connections
    // are warm. Its late deliveries, if any, still load Herald during the measured part.
    const tail = ctx.sizes.latencyTailMs;
    await lg.call('rate', { baseUrl: h.api.baseUrl, auth: h.key.basic, rate, durationMs: 1000, ackBudgetMs: tail, tag: 'w' });
    await sleep(500);
    await rx.call('reset');
    const sent = await lg.call('rate', { baseUrl: h.api.baseUrl, auth: h.key.basic, rate, durationMs: ctx.sizes.latencyMs, ackBudgetMs: tail });
    if (sent.errors > 0) throw new Error(`${sent.errors} of ${sent.sent} events refused (${sent.firstError})`);
    // Deliveries still missing after the tail budget are slower than every figure shown:
    // the percentiles are then lower bounds (marked ≥).
    const done = await waitForDeliveries(rx, sent.sent, { watch: [h.api], budgetMs: tail });
    const report = await rx.call('report');
    const l = report.latency;
    const ge = done.partial ? '≥ ' : '';
    const met = !done.partial && l.p50 <= 5 && l.p99 <= 50;
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
      rows: [
        {
          scenario: `3 latency (${fmtInt(rate)} ev/s × ${sent.seconds} s, 1 sub)`,
          figure: `p50 ${ge}${fmtMs(l.p50)}, p99 ${ge}${fmtMs(l.p99)}, max ${ge}${fmtMs(l.max)} (202 ack p50 ${fmtMs(sent.ack.p50)}, p99 ${fmtMs(sent.ack.p99)})${done.partial ? `; ${fmtInt(sent.sent - done.distinct)} of ${fmtInt(sent.sent)} not delivered ≤ ${(2 * tail) / 1000} s after the last send` : ''}`,
          ratio: '—',
          target: 'p50 ≤ 5 ms, p99 ≤ 50 ms',
          met: verdict(met, l.p50),
        },
      ],
    };
  } finally {
    await scope.close();
  }
}
