// 9. The alternative: BullMQ on the local Redis with an undici worker, the same events to
// the same kind of receiver. Rate = deliveries / (first enqueue → last delivery).
import { randomBytes } from 'node:crypto';
import { fmtInt, fmtRatio, verdict } from '../lib/common.mjs';
import { partialNote, waitForDeliveries } from '../lib/herald.mjs';
import { Scope, cpuMsOf } from '../lib/procs.mjs';

export async function bullmq(ctx) {
  const scope = new Scope('bullmq');
  let producer;
  try {
    const endpoints = 100;
    const events = ctx.sizes.events;
    const name = `herald-bench-${randomBytes(4).toString('hex')}`;
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const { urls } = await rx.call('start', { endpoints });
    const worker = scope.fork(ctx.file('baselines/bullmq/worker.mjs'), 'bullmq worker');
    producer = scope.fork(ctx.file('baselines/bullmq/producer.mjs'), 'bullmq producer');
    await producer.call('open', { name });
    const { concurrency } = await worker.call('start', { name });
    const expected = events * endpoints;
    const cpuBefore = cpuMsOf(worker.pid);
    const arrived = waitForDeliveries(rx, expected, { budgetMs: ctx.sizes.deliveryBudgetMs });
    arrived.catch(() => undefined);
    const sent = await producer.call('produce', { events, urls });
    const done = await arrived;
    const seconds = (done.end - sent.start) / 1000;
    const perSecond = done.distinct / seconds;
    const cpuShare = (cpuMsOf(worker.pid) - cpuBefore) / 1000 / seconds;
    ctx.bullmq = perSecond;
    const heraldOverBull = ctx.throughput / perSecond;
    return {
      deliveries: done.distinct,
      target: expected,
      partial: done.partial,
      perSecond,
      seconds,
      enqueueSeconds: (sent.end - sent.start) / 1000,
      workerConcurrency: concurrency,
      workerCpuShare: cpuShare,
      duplicates: done.duplicates,
      ratioToCeiling: perSecond / ctx.ceiling,
      heraldOverBullmq: heraldOverBull,
      rows: [
        {
          scenario: `9 alternative: BullMQ + undici (${fmtInt(expected)} deliveries)`,
          figure: `${fmtInt(perSecond)} deliveries/s (${fmtRatio(perSecond / ctx.ceiling)} ceiling)${partialNote(done, ctx.sizes.deliveryBudgetMs)}`,
          ratio: ctx.throughput ? `Herald = ${fmtRatio(heraldOverBull)} it${ctx.throughputLabel === 'scenario 2' ? '' : ` (${ctx.throughputLabel})`}` : 'Herald: 2 not run',
          target: 'Herald ≥ 3× it',
          met: verdict(heraldOverBull >= 3, heraldOverBull),
        },
      ],
    };
  } finally {
    await producer?.call('close').catch(() => undefined);
    await scope.close();
  }
}
