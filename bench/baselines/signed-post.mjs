// What every do-it-yourself baseline's worker does per job: POST the body with undici,
// signed like Herald signs (Standard Webhooks, HMAC-SHA256), and fail on a non-2xx answer
// so the queue library retries it. One shared copy keeps the baselines' HTTP work identical.
import { createHmac, randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';

const signingKey = randomBytes(32);

/** The dispatcher a baseline worker posts through (64 sockets in all, as in every baseline). */
export function makeAgent() {
  return new Agent({ connections: 64, keepAliveTimeout: 30_000 });
}

/** POSTs `body` (a JSON string) to `url` as webhook `id`; resolves with the status, throws on a non-2xx. */
export async function postSigned(agent, url, body, id, userAgent) {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', signingKey).update(`${id}.${timestamp}.${body}`).digest('base64');
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${signature}`,
    },
    body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`endpoint answered ${res.statusCode}`);
  return res.statusCode;
}
