// 9. The alternative: BullMQ on the local Redis with an undici worker, the same events to
// the same kind of receiver. Rate = deliveries / (first enqueue → last delivery).
import { randomBytes } from 'node:crypto';
import { fmtInt, fmtRatio, verdict } from '../lib/common.mjs';
import { baselineRun } from '../lib/baseline-run.mjs';

export async function bullmq(ctx) {
  const run = await baselineRun(ctx, {
    label: 'bullmq',
    worker: ctx.file('baselines/bullmq/worker.mjs'),
    producer: ctx.file('baselines/bullmq/producer.mjs'),
    args: () => ({ name: `herald-bench-${randomBytes(4).toString('hex')}` }),
    events: ctx.sizes.events,
  });
  const { perSecond } = run;
  ctx.bullmq = perSecond;
  const heraldOverBull = ctx.throughput / perSecond;
  return {
    ...run,
    workerConcurrency: run.worker.concurrency,
    ratioToCeiling: perSecond / ctx.ceiling,
    heraldOverBullmq: heraldOverBull,
    rows: [
      {
        scenario: `9 alternative: BullMQ + undici (${fmtInt(run.target)} deliveries)`,
        figure: `${fmtInt(perSecond)} deliveries/s (${fmtRatio(perSecond / ctx.ceiling)} ceiling)${run.note}`,
        ratio: ctx.throughput ? `Herald = ${fmtRatio(heraldOverBull)} it${ctx.throughputLabel === 'scenario 2' ? '' : ` (${ctx.throughputLabel})`}` : 'Herald: 2 not run',
        target: 'Herald ≥ 3× it',
        met: verdict(heraldOverBull >= 3, heraldOverBull),
      },
    ],
  };
}
