// Bench child: one tenant posting the same kind of /events/batch back to back for a while
// (the noisy tenant of scenario 10). Each batch gets fresh parcel ids.
import { Pool } from 'undici';
import { now, parcelEvent, sleep, summarize } from './common.mjs';
import { serveRpc } from './rpc.mjs';

serveRpc({
  /**
   * `{ baseUrl, auth, eventsPerBatch, durationMs, firstId, pauseMs }`: batches until the time
   * is up; answers the 202s' times and every other status with its first body.
   */
  async loop({ baseUrl, auth, eventsPerBatch, durationMs, firstId = 1, pauseMs = 0 }) {
    const pool = new Pool(baseUrl, { connections: 1, pipelining: 1 });
    const acks = [];
    const refused = {};
    let deliveries = 0;
    let id = firstId;
    const start = now();
    try {
      while (now() - start < durationMs) {
        const events = Array.from({ length: eventsPerBatch }, () => parcelEvent(id++));
        const sentAt = now();
        const res = await pool.request({
          path: '/api/v3/event-subscriptions/events/batch',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          body: JSON.stringify({ events }),
        });
        const text = await res.body.text();
        if (res.statusCode === 202) {
          acks.push(now() - sentAt);
          for (const e of JSON.parse(text).data) deliveries += e.deliveries;
        } else {
          refused[res.statusCode] ??= { count: 0, first: text.slice(0, 300) };
          refused[res.statusCode].count++;
        }
        if (pauseMs > 0) await sleep(pauseMs);
      }
    } finally {
      await pool.close();
    }
    return { batches: acks.length, deliveries, seconds: (now() - start) / 1000, batchAck: summarize(acks), refused };
  },

  /** `{ baseUrl, auth, events }`: one batch; its status, body and time. */
  async once({ baseUrl, auth, events: count, firstId = 1 }) {
    const pool = new Pool(baseUrl, { connections: 1 });
    try {
      const events = Array.from({ length: count }, (_, i) => parcelEvent(firstId + i));
      const sentAt = now();
      const res = await pool.request({
        path: '/api/v3/event-subscriptions/events/batch',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify({ events }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, ms: now() - sentAt, body: text.slice(0, 500) };
    } finally {
      await pool.close();
    }
  },
});
