// One run of a do-it-yourself baseline (scenarios 9, 13, 14): a receiver with `endpoints`
// endpoints, the baseline's worker and producer as bench children, `events` × endpoints
// jobs enqueued in bulk. Rate = distinct deliveries / (first enqueue → last delivery).
import { sleep } from './common.mjs';
import { partialNote, waitForDeliveries } from './herald.mjs';
import { postgresCpuMsBetween, readPostgresCpu } from './postgres-cpu.mjs';
import { Scope, cpuMsOf } from './procs.mjs';

/**
 * `{ label, worker, producer, args, events, endpoints, postgres, keeps }`: `worker` and
 * `producer` are module paths answering start/open/produce/close; `args(scope)` gives the
 * arguments of both (queue name, schema); `keeps({ producer, args })`, called after the
 * run and before cleanup, says what the baseline keeps on record.
 */
export async function baselineRun(ctx, { label, worker: workerModule, producer: producerModule, args: makeArgs, events, endpoints = 100, postgres = false, keeps }) {
  const scope = new Scope(label);
  let producer;
  let worker;
  try {
    const args = makeArgs(scope);
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const { urls } = await rx.call('start', { endpoints });
    worker = scope.fork(workerModule, `${label} worker`);
    producer = scope.fork(producerModule, `${label} producer`);
    const opened = await producer.call('open', args);
    const started = await worker.call('start', args);
    const expected = events * endpoints;
    const cpuBefore = { worker: cpuMsOf(worker.pid), producer: cpuMsOf(producer.pid), postgres: postgres ? readPostgresCpu() : undefined };
    const budgetMs = ctx.sizes.deliveryBudgetMs;
    const arrived = waitForDeliveries(rx, expected, { budgetMs });
    arrived.catch(() => undefined);
    const sent = await producer.call('produce', { events, urls });
    const done = await arrived;
    const seconds = (done.end - sent.start) / 1000;
    const share = (ms) => ms / 1000 / seconds;
    const cpu = {
      workerCpuShare: share(cpuMsOf(worker.pid) - cpuBefore.worker),
      producerCpuShare: share(cpuMsOf(producer.pid) - cpuBefore.producer),
      ...(postgres ? { postgresCpuShare: share(postgresCpuMsBetween(cpuBefore.postgres, readPostgresCpu())) } : {}),
    };
    const kept = keeps ? await keeps({ producer, args }) : undefined;
    return {
      deliveries: done.distinct,
      target: expected,
      partial: done.partial,
      note: partialNote(done, budgetMs),
      perSecond: done.distinct / seconds,
      seconds,
      enqueueSeconds: (sent.end - sent.start) / 1000,
      duplicates: done.duplicates,
      opened,
      worker: started,
      ...cpu,
      ...(kept ? { keeps: kept } : {}),
    };
  } finally {
    // Graceful closes first (the Redis producer obliterates its queue), each bounded: the
    // scope kills whatever is left.
    await bounded(worker?.call('close'), 3000);
    await bounded(producer?.call('close'), 5000);
    await scope.close();
  }
}

function bounded(promise, ms) {
  if (!promise) return undefined;
  return Promise.race([promise.catch(() => undefined), sleep(ms)]);
}
