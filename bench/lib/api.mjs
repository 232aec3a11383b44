// Setup calls against a running Herald (not timed): connections and subscriptions.
const BASE = '/api/v3/event-subscriptions';

export async function api(herald, key, method, path, body) {
  const res = await fetch(`${herald.baseUrl}${BASE}${path}`, {
    method,
    headers: { authorization: key.basic, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * One webhook connection per URL, each with one `parcels.event.created` subscription.
 * `configure(i)` may add configuration fields (e.g. timeout_ms). Runs `concurrency` at a time.
 */
export async function subscribeAll(herald, key, urls, { configure = () => ({}), concurrency = 8 } = {}) {
  const ids = new Array(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      const conn = await api(herald, key, 'POST', '/connections', {
        type: 'webhook',
        configuration: { url: urls[i], auth_type: 'none', ...configure(i) },
      });
      const sub = await api(herald, key, 'POST', '/subscriptions', {
        connection_id: conn.data.id,
        event_type: 'parcels.event.created',
      });
      ids[i] = { connection: conn.data.id, subscription: sub.data.id };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
  return ids;
}
