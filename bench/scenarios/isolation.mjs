// 5. Isolation: as throughput, with 10 of the 100 endpoints never answering.
import { fmtInt, fmtRatio, verdict } from '../lib/common.mjs';
import { throughputRun } from './throughput.mjs';

export async function isolation(ctx) {
  const endpoints = 100;
  // Every tenth endpoint hangs (connections 0, 10, 20, …), spread over the creation order.
  const hang = Array.from({ length: 10 }, (_, i) => i * 10);
  const run = await throughputRun(ctx, { label: 'isolation', events: ctx.sizes.events, endpoints, hang });
  const vsThroughput = run.perSecond / ctx.throughput;
  return {
    ...run,
    ratioToThroughput: vsThroughput,
    ratioToCeiling: run.perSecond / ctx.ceiling,
    rows: [
      {
        scenario: `5 isolation (10 of 100 endpoints hang)`,
        figure: `${fmtInt(run.perSecond)} deliveries/s to the healthy 90 (${fmtInt(run.hungRequests)} requests hung)${run.note}`,
        ratio: ctx.throughput ? `${fmtRatio(vsThroughput)} ${ctx.throughputLabel}` : `${fmtRatio(run.perSecond / ctx.ceiling)} ceiling (2 not run)`,
        target: '≥ 0.8× scenario 2',
        met: verdict(vsThroughput >= 0.8, vsThroughput),
      },
    ],
  };
}
