// The load generator: a bench child process sending HTTP with undici Pools.
//   ceiling — the same webhook payloads straight at the receiver's endpoints (the limit)
//   batches — events through POST /events/batch (throughput, isolation, backlog)
//   rate    — single POST /events at a fixed rate, send time in the body (latency)
//   closed  — N clients each sending POST /events back to back (ingest)
import { Pool } from 'undici';
import { now, parcelEvent, sleep, summarize } from './common.mjs';
import { serveRpc } from './rpc.mjs';

const pools = new Map();
function poolFor(origin, connections) {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    pools.set(origin, pool);
  }
  return pool;
}

async function closePools() {
  await Promise.all([...pools.values()].map((p) => p.close().catch(() => undefined)));
  pools.clear();
}

function jsonHeaders(auth) {
  return auth ? { 'content-type': 'application/json', authorization: auth } : { 'content-type': 'application/json' };
}

serveRpc({
  /** `{ baseUrl, auth, id }`: one POST /events; its send time and the 202's arrival. */
  async one({ baseUrl, auth, id = 1 }) {
    const pool = poolFor(baseUrl, 1);
    const start = now();
    const res = await pool.request({
      path: '/api/v3/event-subscriptions/events',
      method: 'POST',
      headers: jsonHeaders(auth),
      body: JSON.stringify(parcelEvent(id)),
    });
    const text = await res.body.text();
    if (res.statusCode !== 202) throw new Error(`events answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return { start, ack: now(), deliveries: JSON.parse(text).data.deliveries };
  },

  /**
   * `{ urls, durationMs, warmupMs, concurrency, connectionsPerOrigin }`: requests/s over the
   * measured window. Headers like Herald's (signature-sized), the parcel payload as body.
   */
  async ceiling({ urls, durationMs = 5000, warmupMs = 500, concurrency = 256, connectionsPerOrigin = 10 }) {
    const body = JSON.stringify(parcelEvent());
    const targets = urls.map((u) => {
      const url = new URL(u);
      return { pool: poolFor(url.origin, connectionsPerOrigin), path: url.pathname };
    });
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Herald/bench',
      'webhook-id': 'msg_0123456789abcdefghijklmn',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': `v1,${Buffer.alloc(32, 7).toString('base64')}`,
    };
    const start = now();
    const measureFrom = start + warmupMs;
    const end = measureFrom + durationMs;
    let counted = 0;
    let errors = 0;
    let next = 0;
    // The clock is read once per millisecond tick, not per request: the loop stays lean.
    let t = now();
    const clock = setInterval(() => {
      t = now();
    }, 1);
    const loop = async () => {
      while (t < end) {
        const target = targets[next++ % targets.length];
        try {
          const res = await target.pool.request({ path: target.path, method: 'POST', headers, body });
          await res.body.dump();
          if (res.statusCode !== 200) errors++;
        } catch {
          errors++;
        }
        if (t >= measureFrom && t < end) counted++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    clearInterval(clock);
    await closePools();
    return { requests: counted, errors, seconds: durationMs / 1000, perSecond: counted / (durationMs / 1000) };
  },

  /** `{ baseUrl, auth, events, batchSize, concurrency, firstId }` → first send, last 202. */
  async batches({ baseUrl, auth, events, batchSize = 1000, concurrency = 1, firstId = 1 }) {
    const pool = poolFor(baseUrl, Math.max(1, concurrency));
    const batches = [];
    for (let i = 0; i < events; i += batchSize) batches.push([i, Math.min(events, i + batchSize)]);
    let next = 0;
    let deliveries = 0;
    let lastAck = 0;
    const acks = [];
    const start = now();
    const loop = async () => {
      while (next < batches.length) {
        const [from, to] = batches[next++];
        const list = [];
        for (let i = from; i < to; i++) list.push(parcelEvent(firstId + i));
        const sentAt = now();
        const res = await pool.request({
          path: '/api/v3/event-subscriptions/events/batch',
          method: 'POST',
          headers: jsonHeaders(auth),
          body: JSON.stringify({ events: list }),
        });
        const text = await res.body.text();
        if (res.statusCode !== 202) throw new Error(`events/batch answered ${res.statusCode}: ${text.slice(0, 300)}`);
        for (const e of JSON.parse(text).data) deliveries += e.deliveries;
        lastAck = now();
        acks.push(lastAck - sentAt);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    await closePools();
    return { start, end: lastAck, events, deliveries, batchAck: summarize(acks) };
  },

  /**
   * `{ baseUrl, auth, rate, durationMs, connections }`: open loop — the schedule does not
   * wait for answers. Each event carries `<tag>:<send time>` in data.event.description
   * (the receiver times tag `t` only: a warm-up uses another tag).
   */
  async rate({ baseUrl, auth, rate = 1000, durationMs = 30_000, connections = 32, ackBudgetMs = 30_000, tag = 't' }) {
    const pool = poolFor(baseUrl, connections);
    const headers = jsonHeaders(auth);
    const acks = [];
    let sent = 0;
    let errors = 0;
    let firstError;
    let abandoned = false;
    const inFlight = new Set();
    const start = now();
    const end = start + durationMs;
    const send = (id) => {
      const sentAt = now();
      const p = pool
        .request({
          path: '/api/v3/event-subscriptions/events',
          method: 'POST',
          headers,
          body: JSON.stringify(parcelEvent(id, `${tag}:${sentAt.toFixed(3)}`)),
        })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 202) {
            errors++;
            firstError ??= `status ${res.statusCode}`;
          } else acks.push(now() - sentAt);
        })
        .catch((error) => {
          if (!abandoned) {
            errors++;
            firstError ??= String(error);
          }
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    for (;;) {
      const t = now();
      if (t >= end) break;
      const due = Math.floor(((t - start) * rate) / 1000);
      while (sent < due) send(++sent);
      await sleep(1);
    }
    // Answers still missing `ackBudgetMs` after the last send are counted, not awaited.
    await Promise.race([Promise.all([...inFlight]), sleep(ackBudgetMs)]);
    const unacked = inFlight.size;
    abandoned = true;
    if (unacked > 0) await Promise.all([...pools.values()].map((p) => p.destroy().catch(() => undefined)));
    pools.clear();
    await closePools();
    return { sent, errors, firstError, unacked, seconds: durationMs / 1000, ack: summarize(acks) };
  },

  /** `{ url, auth, concurrency, durationMs, warmupMs }`: accepted (2xx) requests/s. */
  async closed({ url, auth, concurrency = 50, durationMs = 10_000, warmupMs = 1000 }) {
    const target = new URL(url);
    const pool = poolFor(target.origin, concurrency);
    const headers = jsonHeaders(auth);
    const acks = [];
    let accepted = 0;
    let rejected = 0;
    let firstError;
    let seq = 0;
    const start = now();
    const measureFrom = start + warmupMs;
    const end = measureFrom + durationMs;
    const loop = async () => {
      while (now() < end) {
        const sentAt = now();
        let ok = false;
        try {
          const res = await pool.request({
            path: target.pathname,
            method: 'POST',
            headers,
            body: JSON.stringify(parcelEvent(++seq)),
          });
          await res.body.dump();
          ok = res.statusCode >= 200 && res.statusCode < 300;
          if (!ok) firstError ??= `status ${res.statusCode}`;
        } catch (error) {
          firstError ??= String(error);
        }
        const t = now();
        if (t >= measureFrom && t < end) {
          if (ok) {
            accepted++;
            acks.push(t - sentAt);
          } else rejected++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    await closePools();
    return { accepted, rejected, firstError, seconds: durationMs / 1000, perSecond: accepted / (durationMs / 1000), ack: summarize(acks) };
  },
});
