// 1. Ceiling: undici Pool straight at the receiver, the same payloads. The best of a few
// windows is the machine's limit for this HTTP work; every delivery rate is divided by it.
import { fmtInt } from '../lib/common.mjs';
import { Scope } from '../lib/procs.mjs';

// One origin, 16 keep-alive sockets, 64 requests in flight, no pipelining (no webhook
// sender pipelines): the best shape found on a 2-core machine; more sockets or origins
// only add per-socket overhead.
const SHAPE = { endpoints: 1, concurrency: 64, connectionsPerOrigin: 16 };

export async function ceiling(ctx) {
  const scope = new Scope('ceiling');
  try {
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const lg = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen');
    const { urls } = await rx.call('start', { endpoints: SHAPE.endpoints, dedup: false });
    // An untimed second first: JIT, sockets and the receiver warm up.
    await lg.call('ceiling', { urls, durationMs: 1000, warmupMs: 0, concurrency: SHAPE.concurrency, connectionsPerOrigin: SHAPE.connectionsPerOrigin });
    const windows = [];
    for (let i = 0; i < ctx.sizes.ceilingWindows; i++) {
      const r = await lg.call('ceiling', {
        urls,
        durationMs: ctx.sizes.ceilingMs,
        warmupMs: 300,
        concurrency: SHAPE.concurrency,
        connectionsPerOrigin: SHAPE.connectionsPerOrigin,
      });
      if (r.errors > 0) throw new Error(`${r.errors} requests failed`);
      windows.push(r.perSecond);
    }
    const best = Math.max(...windows);
    ctx.ceiling = best;
    return {
      requestsPerSecond: best,
      windows,
      shape: SHAPE,
      rows: [
        {
          scenario: '1 ceiling (undici Pool → receiver)',
          figure: `${fmtInt(best)} req/s`,
          ratio: '1.00× (the limit)',
          target: '—',
          met: '',
        },
      ],
    };
  } finally {
    await scope.close();
  }
}
