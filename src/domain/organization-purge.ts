import { setImmediate as nextTurn } from 'node:timers/promises';
import { RateLimitCounters } from '../store/rate-limits.js';
import type { Store } from '../store/store.js';

/** Rows per DELETE of a purge: each batch is its own short transaction (see delivery/maintenance.ts). */
export const PURGE_BATCH = 1000;
/** A purge without a heartbeat for this long was interrupted: the maintenance pass takes it over. */
export const PURGE_STALE_MS = 5 * 60_000;

/** Rows removed per table (subscriptions' OAuth states and keys' access tokens go by cascade). */
export interface PurgeCounts {
  api_keys: number;
  attempts: number;
  deliveries: number;
  events: number;
  idempotency_keys: number;
  subscriptions: number;
  connections: number;
  organizations: number;
}

type Step = keyof Omit<PurgeCounts, 'organizations'>;

/**
 * Removes everything an organization marked `deleting` owns, children before parents, in
 * batches of `batch` rows, each its own transaction, yielding between them: other
 * organizations' requests and deliveries get their turn, and no transaction holds many rows
 * (a single `DELETE FROM organizations` would cascade through millions of rows in one).
 * Interrupted (the signal, a crash), the organization stays `deleting` and the next
 * maintenance pass finishes it. Answers what it removed, or undefined when interrupted.
 */
export async function purgeOrganization(
  store: Store,
  organizationId: number,
  options: { batch?: number; signal?: AbortSignal; onRemoved?: (table: string, rows: number) => void; pauseMs?: number } = {},
): Promise<PurgeCounts | undefined> {
  const batch = options.batch ?? PURGE_BATCH;
  const pause = () => (options.pauseMs ? new Promise((resolve) => setTimeout(resolve, options.pauseMs)) : nextTurn());
  const counts: PurgeCounts = {
    api_keys: 0,
    attempts: 0,
    deliveries: 0,
    events: 0,
    idempotency_keys: 0,
    subscriptions: 0,
    connections: 0,
    organizations: 0,
  };
  const steps: Array<[Step, (tx: Store) => Promise<number>]> = [
    ['api_keys', (tx) => tx.apiKeys.deleteForOrganization(organizationId, batch)],
    ['attempts', (tx) => tx.attempts.deleteForOrganization(organizationId, batch)],
    ['deliveries', (tx) => tx.deliveries.deleteForOrganization(organizationId, batch)],
    ['events', (tx) => tx.events.deleteForOrganization(organizationId, batch)],
    ['idempotency_keys', (tx) => tx.idempotencyKeys.deleteForOrganization(organizationId, batch)],
    ['subscriptions', (tx) => tx.subscriptions.deleteForOrganization(organizationId, batch)],
    ['connections', (tx) => tx.connections.deleteForOrganization(organizationId, batch)],
  ];
  for (const [table, deleteBatch] of steps) {
    for (;;) {
      if (options.signal?.aborted) return undefined;
      const deleted = await store.transaction(async (tx) => {
        const n = await deleteBatch(tx);
        await tx.organizations.purgeHeartbeat(organizationId, Date.now());
        return n;
      });
      counts[table] += deleted;
      if (deleted > 0) options.onRemoved?.(table, deleted);
      if (deleted < batch) break;
      await pause();
    }
  }
  if (store.dialect === 'postgres') await new RateLimitCounters(store.db).forget(organizationId);
  // Whatever arrived meanwhile (an event committed just before the mark) goes by cascade with the row.
  counts.organizations = (await store.organizations.deleteRow(organizationId)) ? 1 : 0;
  if (counts.organizations > 0) options.onRemoved?.('organizations', 1);
  return counts;
}
