// 4. Fan-out: one event to 1,000 subscriptions (1,000 connections, 1,000 endpoints):
// time from the POST until the last of the 1,000 deliveries has arrived.
import { fmtInt, fmtMs, fmtRatio, median } from '../lib/common.mjs';
import { startHerald, waitForDeliveries } from '../lib/herald.mjs';
import { subscribeAll } from '../lib/api.mjs';
import { Scope } from '../lib/procs.mjs';

export async function fanout(ctx) {
  const scope = new Scope('fanout');
  try {
    const endpoints = ctx.sizes.fanoutEndpoints;
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const lg = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen');
    const { urls } = await rx.call('start', { endpoints });
    const h = await startHerald(scope, {});
    const setupStart = Date.now();
    await subscribeAll(h.api, h.key, urls, { concurrency: 16 });
    const setupSeconds = (Date.now() - setupStart) / 1000;
    const rounds = [];
    for (let r = 0; r < ctx.sizes.fanoutRounds; r++) {
      await rx.call('reset');
      const arrived = waitForDeliveries(rx, endpoints, { watch: [h.api], budgetMs: ctx.sizes.fanoutBudgetMs, allowNone: true });
      arrived.catch(() => undefined);
      const sent = await lg.call('one', { baseUrl: h.api.baseUrl, auth: h.key.basic, id: r + 1 });
      if (sent.deliveries !== endpoints) throw new Error(`event created ${sent.deliveries} deliveries, not ${endpoints}`);
      let done;
      try {
        done = await arrived;
      } catch (error) {
        throw new Error(`round ${r + 1}: ${error.message}`);
      }
      // Past the budget the round counts as taking at least the budget (figure marked ≥).
      rounds.push({
        totalMs: done.partial ? Math.max(ctx.sizes.fanoutBudgetMs, done.last - sent.start) : done.last - sent.start,
        partial: done.partial,
        arrived: done.distinct,
        ackMs: sent.ack - sent.start,
        firstMs: done.distinct ? done.first - sent.start : null,
        newConnections: done.connections,
      });
    }
    const cold = rounds[0];
    const warm = rounds.slice(1);
    const warmMedian = warm.length ? median(warm.map((w) => w.totalMs)) : cold.totalMs;
    const perSecond = endpoints / (warmMedian / 1000);
    const ge = (round) => (round.partial ? '≥ ' : '');
    return {
      endpoints,
      setupSeconds,
      coldMs: cold.totalMs,
      warmMedianMs: warmMedian,
      rounds,
      rows: [
        {
          scenario: `4 fan-out (1 event → ${fmtInt(endpoints)} subscriptions)`,
          figure: `all arrived in ${warm.some((w) => w.partial) ? '≥ ' : ''}${fmtMs(warmMedian)} (median of ${warm.length} warm; cold ${ge(cold)}${fmtMs(cold.totalMs)}; 202 after ${fmtMs(median(rounds.map((x) => x.ackMs)))})`,
          ratio: `${fmtInt(perSecond)}/s = ${fmtRatio(perSecond / ctx.ceiling)} ceiling`,
          target: '—',
          met: '',
        },
      ],
    };
  } finally {
    await scope.close();
  }
}
