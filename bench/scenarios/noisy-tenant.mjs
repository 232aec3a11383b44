// 10. Noisy tenant: one organization at its caps (connections and subscriptions per
// organization) posts the largest batch the per-request delivery bound allows, back to
// back, while another organization's single events are timed. Figures: the other tenant's
// 202 latency (p99) beside the same load alone, and the worst event-loop delay of the
// Herald process (perf_hooks.monitorEventLoopDelay, preloaded by lib/loop-delay.mjs).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { api } from '../lib/api.mjs';
import { fmtInt, fmtMs, sleep, verdict } from '../lib/common.mjs';
import { startHerald } from '../lib/herald.mjs';
import { connectInspector } from '../lib/inspector.mjs';
import { Scope, createKey, freePort } from '../lib/procs.mjs';
import { formatSummary, summarizeProfile } from '../profile-summary.mjs';

const STALL_TARGET_MS = 200;
const PARCEL = 'parcels.event.created';
const OTHER_TYPE = 'email.sent';

/** The limits in force: Herald's defaults (src/config.ts), or what --herald-env set. */
function limitsOf(env) {
  const n = (name, fallback) => Number(env[name] ?? fallback);
  return {
    connections: n('HERALD_MAX_CONNECTIONS_PER_ORG', 1000),
    subscriptions: n('HERALD_MAX_SUBSCRIPTIONS_PER_ORG', 2000),
    deliveriesPerRequest: n('HERALD_MAX_DELIVERIES_PER_REQUEST', 10_000),
  };
}

/**
 * The noisy organization at both caps: `connections` webhook connections, each subscribed
 * to parcel events, and then to a second type until the subscription cap is reached.
 * Answers how many subscriptions match a parcel event, and the connections' ids.
 */
async function fillToCaps(h, key, urls, limits) {
  const connections = [];
  let next = 0;
  const worker = async () => {
    while (next < limits.connections) {
      const i = next++;
      const conn = await api(h.api, key, 'POST', '/connections', {
        type: 'webhook',
        configuration: { url: urls[i % urls.length], auth_type: 'none' },
      });
      connections[i] = conn.data.id;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const wanted = [];
  for (const id of connections) wanted.push([id, PARCEL]);
  for (const id of connections) if (wanted.length < limits.subscriptions) wanted.push([id, OTHER_TYPE]);
  next = 0;
  const subscriber = async () => {
    while (next < wanted.length) {
      const [connectionId, eventType] = wanted[next++];
      await api(h.api, key, 'POST', '/subscriptions', { connection_id: connectionId, event_type: eventType });
    }
  };
  await Promise.all(Array.from({ length: 16 }, subscriber));
  return { matching: Math.min(connections.length, wanted.length), connections };
}

/** A request the caps must refuse: its status (400 expected). */
async function statusOf(h, key, path, body) {
  try {
    await api(h.api, key, 'POST', path, body);
    return 201;
  } catch (error) {
    return Number(/answered (\d+)/.exec(error.message)?.[1] ?? NaN);
  }
}

export async function noisyTenant(ctx) {
  const scope = new Scope('noisy-tenant');
  try {
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const quiet = scope.fork(ctx.file('lib/loadgen.mjs'), 'loadgen-quiet');
    const noisy = scope.fork(ctx.file('lib/batch-loop.mjs'), 'loadgen-noisy');
    const delayFile = join(scope.tempDir(), 'loop-delay.json');
    const endpoints = 100;
    // --size noisyProfile=1: the shared window under the CPU profiler too (results/profiles/).
    const inspectPort = ctx.sizes.noisyProfile ? await freePort() : undefined;
    const [{ urls }, h] = await Promise.all([
      rx.call('start', { endpoints: endpoints + 1 }),
      startHerald(scope, {
        // --size noisyWorkers=0: an API-only process (ingest without deliveries competing for it).
        roles: [ctx.sizes.noisyWorkers ? 'all' : 'api'],
        nodeArgs: [
          ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
          '--import',
          pathToFileURL(ctx.file('lib/loop-delay.mjs')).href,
        ],
        // Setup makes thousands of calls; the per-minute rate limits are not what is measured.
        env: { BENCH_LOOP_DELAY_FILE: delayFile, HERALD_RATE_LIMIT_API: '0', HERALD_RATE_LIMIT_EVENTS: '0' },
      }),
    ]);
    const loopDelay = async () => {
      const before = existsSync(delayFile) ? JSON.parse(readFileSync(delayFile, 'utf8')).at : 0;
      process.kill(h.api.pid, 'SIGUSR2');
      for (let i = 0; i < 250; i++) {
        await sleep(20);
        if (existsSync(delayFile)) {
          const d = JSON.parse(readFileSync(delayFile, 'utf8'));
          if (d.at !== before) return d;
        }
      }
      throw new Error('the Herald process wrote no event-loop delay (is lib/loop-delay.mjs preloaded?)');
    };

    const limits = limitsOf(h.env);
    const setupStart = Date.now();
    const { matching, connections } = await fillToCaps(h, h.key, urls.slice(0, endpoints), limits);
    const setupSeconds = (Date.now() - setupStart) / 1000;
    const eventsPerBatch = Math.max(1, Math.floor(limits.deliveriesPerRequest / matching));
    // One more of either is refused at the caps (400).
    const capChecks = {
      connection: await statusOf(h, h.key, '/connections', { type: 'webhook', configuration: { url: urls[0], auth_type: 'none' } }),
      subscription: await statusOf(h, h.key, '/subscriptions', { connection_id: connections[0], event_type: 'email.opened' }),
    };
    const quietKey = await createKey(h.env, 'quiet');
    const quietConn = await api(h.api, quietKey, 'POST', '/connections', {
      type: 'webhook',
      configuration: { url: urls[endpoints], auth_type: 'none' },
    });
    await api(h.api, quietKey, 'POST', '/subscriptions', { connection_id: quietConn.data.id, event_type: PARCEL });

    // One batch over the bound: refused whole, before it costs anyone anything.
    const over = await noisy.call('once', { baseUrl: h.api.baseUrl, auth: h.key.basic, events: eventsPerBatch + 1, firstId: 1 });
    if (over.status !== 400) throw new Error(`a batch of ${eventsPerBatch + 1} events answered ${over.status}, not 400: ${over.body}`);
    // Warm-up (not measured): JIT, connections, statement caches.
    const warm = await noisy.call('once', { baseUrl: h.api.baseUrl, auth: h.key.basic, events: eventsPerBatch, firstId: 100 });
    if (warm.status !== 202) throw new Error(`the largest allowed batch answered ${warm.status}: ${warm.body}`);
    const rate = ctx.sizes.noisyQuietRate;
    const durationMs = ctx.sizes.noisyMs;
    const quietCall = (tag) =>
      quiet.call('rate', { baseUrl: h.api.baseUrl, auth: quietKey.basic, rate, durationMs, connections: 64, ackBudgetMs: 30_000, tag });
    await quietCall('w');
    await sleep(1000);

    // Phase 1: the other tenant alone.
    await loopDelay();
    const alone = await quietCall('a');
    const aloneDelay = await loopDelay();
    // Phase 2: the same, beside the noisy tenant's largest batches back to back.
    const inspector = inspectPort ? await connectInspector(inspectPort) : undefined;
    await inspector?.start();
    const [shared, noise] = await Promise.all([
      quietCall('t'),
      noisy.call('loop', { baseUrl: h.api.baseUrl, auth: h.key.basic, eventsPerBatch, durationMs, firstId: 1000 }),
    ]);
    const sharedDelay = await loopDelay();
    if (inspector) {
      const profile = await inspector.stop();
      inspector.close();
      const dir = join(ctx.resultsDir, 'profiles');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `noisy-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      ctx.log(`${formatSummary(summarizeProfile(profile, 25))}\n  profile written to ${file}`);
    }
    for (const [name, sent] of [
      ['alone', alone],
      ['beside the noisy tenant', shared],
    ]) {
      if (sent.errors > 0 || sent.unacked > 0) {
        throw new Error(`the other tenant (${name}): ${sent.errors} refused, ${sent.unacked} unanswered of ${sent.sent} (${sent.firstError})`);
      }
    }
    if (Object.keys(noise.refused).length) throw new Error(`noisy batches refused: ${JSON.stringify(noise.refused)}`);
    const stall = sharedDelay.maxMs;
    return {
      limits,
      setupSeconds,
      matchingSubscriptions: matching,
      eventsPerBatch,
      deliveriesPerBatch: eventsPerBatch * matching,
      overLimitBatch: { events: eventsPerBatch + 1, status: over.status, ms: over.ms },
      capChecks,
      noisy: noise,
      quietRate: rate,
      quietAlone: { ack: alone.ack, loopDelay: aloneDelay },
      quietShared: { ack: shared.ack, loopDelay: sharedDelay },
      rows: [
        {
          scenario: `10 noisy tenant (${fmtInt(eventsPerBatch)} events × ${fmtInt(matching)} subs = ${fmtInt(eventsPerBatch * matching)} deliveries per batch; another tenant ${fmtInt(rate)} ev/s)`,
          figure:
            `worst event-loop delay ${fmtMs(stall)} (longest GC pause ${fmtMs(sharedDelay.gc.maxMs)}; alone ${fmtMs(aloneDelay.maxMs)}); ` +
            `other tenant's 202 p99 ${fmtMs(shared.ack.p99)}, ` +
            `max ${fmtMs(shared.ack.max)} (alone p99 ${fmtMs(alone.ack.p99)}); ${fmtInt(noise.batches)} batches, ack p50 ${fmtMs(noise.batchAck.p50)}; ` +
            `${eventsPerBatch + 1}-event batch 400 in ${fmtMs(over.ms)}`,
          ratio: `p99 ${(shared.ack.p99 / alone.ack.p99).toFixed(1)}× alone`,
          target: `stall ≤ ${STALL_TARGET_MS} ms`,
          met: verdict(stall <= STALL_TARGET_MS, stall),
        },
      ],
    };
  } finally {
    await scope.close();
  }
}
