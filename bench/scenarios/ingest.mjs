// 7. Ingest: 50 clients POSTing single events back to back, no subscriptions; beside a
// bare Fastify route that answers 202 (JSON parsed, nothing else), in the same run.
import { fmtInt, fmtMs, fmtRatio } from '../lib/common.mjs';
import { startHerald } from '../lib/herald.mjs';
import { Scope } from '../lib/procs.mjs';

export async function ingest(ctx) {
  const scope = new Scope('ingest');
  try {
    const lg = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen');
    const options = { concurrency: 50, durationMs: ctx.sizes.ingestMs, warmupMs: ctx.sizes.ingestWarmupMs };
    const h = await startHerald(scope, {});
    const herald = await lg.call('closed', { ...options, url: `${h.api.baseUrl}/api/v3/event-subscriptions/events`, auth: h.key.basic });
    if (herald.rejected > 0) throw new Error(`${herald.rejected} events refused (${herald.firstError})`);
    await h.api.stop(0);
    const bare = scope.fork(ctx.file('baselines/fastify-202.mjs'), 'fastify-202');
    const { url } = await bare.call('start');
    const reference = await lg.call('closed', { ...options, url });
    const ratio = herald.perSecond / reference.perSecond;
    return {
      herald,
      bareFastify: reference,
      ratio,
      rows: [
        {
          scenario: '7 ingest (POST /events, 50 clients, no subs)',
          figure: `${fmtInt(herald.perSecond)} events/s (p50 ${fmtMs(herald.ack.p50)}, p99 ${fmtMs(herald.ack.p99)}); bare Fastify 202: ${fmtInt(reference.perSecond)}/s`,
          ratio: `${fmtRatio(ratio)} bare Fastify`,
          target: '—',
          met: '',
        },
      ],
    };
  } finally {
    await scope.close();
  }
}
