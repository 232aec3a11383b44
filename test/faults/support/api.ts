/** API steps the fault tests share, on top of test/delivery/helpers.ts. */
import { expect } from 'vitest';
import type { Credentials } from '../../support/herald.js';
import type { HeraldProcess } from '../../support/process.js';
import { parcelEvent } from '../../support/events.js';
import { type Api, CONNECTIONS, DELIVERIES, listAll, publishBatch, waitUntil } from '../../delivery/helpers.js';

/** A webhook connection without subscriptions. */
export async function createConnection(h: Api, org: Credentials, configuration: Record<string, unknown>) {
  const res = await h.request('POST', CONNECTIONS, {
    auth: org,
    body: { type: 'webhook', configuration: { auth_type: 'none', ...configuration } },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.data;
}

/** Publishes events with consecutive parcel ids in batches; answers the parcel ids. */
export async function publishParcels(h: Api, org: Credentials, first: number, count: number, batch = 100): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += batch) {
    const chunk = Array.from({ length: Math.min(batch, count - i) }, (_, j) => first + i + j);
    await publishBatch(h, org, chunk.map((parcelId) => parcelEvent({ parcelId })));
    ids.push(...chunk);
  }
  return ids;
}

/** Waits until the organization has no pending delivery left; answers how long that took. */
export async function waitDrained(h: Api, org: Credentials, timeoutMs: number, query: Record<string, string | number> = {}): Promise<number> {
  const start = Date.now();
  await waitUntil(
    'no pending deliveries',
    async () => (await listAll(h, org, DELIVERIES, { ...query, status: 'pending' })).length === 0,
    timeoutMs,
    250,
  );
  return Date.now() - start;
}

/** Every process of the list still runs (none crashed or exited). */
export function expectAlive(processes: readonly HeraldProcess[]): void {
  for (const p of processes) expect.soft(p.exit, `${p.name} exited; its stderr:\n${p.stderr.slice(-3000)}`).toBeUndefined();
}

/** The last lines of each process, for failure messages. */
export const tails = (processes: readonly HeraldProcess[], lines = 15) =>
  processes.map((p) => `--- ${p.name} ---\n${p.tail(lines)}`).join('\n');
