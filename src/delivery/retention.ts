import { setImmediate as nextTurn } from 'node:timers/promises';
import { tryLockRetention } from '../store/advisory-locks.js';
import type { Store } from '../store/store.js';

/** Deliveries (with their attempts) removed per transaction at most; events per transaction at most. */
export const RETENTION_BATCH = 500;
const EVENTS_PER_STEP = 100;
/** The admin stats read the last hour of `delivery_outcomes`; older minutes go. */
const OUTCOMES_KEPT_MS = 2 * 3_600_000;
/** The portal's activity chart reads up to 7 days of `connection_outcomes` (a day's margin). */
const CONNECTION_OUTCOMES_KEPT_MS = 8 * 86_400_000;

export interface RetentionCounts {
  events: number;
  deliveries: number;
  attempts: number;
  /** Broadcast tests (attempts without a delivery). */
  test_attempts: number;
  delivery_outcomes: number;
  connection_outcomes: number;
  /** Another process held the retention lock (PostgreSQL): this pass did nothing. */
  skipped: boolean;
}

interface Step {
  events: number;
  deliveries: number;
  attempts: number;
  /** Where the next step starts (event id), or undefined when nothing old is left after it. */
  next: number | undefined;
  busy: boolean;
}

/**
 * One retention pass: events older than `now - retentionMs` whose deliveries are all
 * finished (succeeded or failed) go, with their deliveries and attempts; so do broadcast-test
 * attempts older than that, and the stats' minutes older than two hours. An event with a
 * delivery pending or parked stays, with all its deliveries.
 *
 * Events are walked oldest first by id (ids grow with time; the walk stops at the first young
 * event), each step one short transaction deleting at most RETENTION_BATCH deliveries (an
 * event with a larger fan-out is emptied over several steps), yielding between steps. On
 * PostgreSQL one worker at a time runs it (an advisory lock; the others skip their pass).
 */
export async function runRetention(
  store: Store,
  now: number,
  retentionMs: number,
  options: {
    batch?: number;
    signal?: AbortSignal;
    onRemoved?: (table: string, rows: number) => void;
    /** Between two batches (SQLite: the other connections' turn at the write lock, see maintenance-thread.ts). */
    pauseMs?: number;
  } = {},
): Promise<RetentionCounts> {
  const batch = options.batch ?? RETENTION_BATCH;
  const pause = () => (options.pauseMs ? new Promise((resolve) => setTimeout(resolve, options.pauseMs)) : nextTurn());
  const cutoff = now - retentionMs;
  const counts: RetentionCounts = { events: 0, deliveries: 0, attempts: 0, test_attempts: 0, delivery_outcomes: 0, connection_outcomes: 0, skipped: false };
  const removed = (table: string, rows: number) => {
    if (rows > 0) options.onRemoved?.(table, rows);
  };
  let cursor: number | undefined = 0;
  while (cursor !== undefined && !options.signal?.aborted) {
    const from: number = cursor;
    const step = await store.transaction((tx) => retentionStep(tx, from, cutoff, batch));
    if (step.busy) return { ...counts, skipped: true };
    counts.events += step.events;
    counts.deliveries += step.deliveries;
    counts.attempts += step.attempts;
    removed('events', step.events);
    removed('deliveries', step.deliveries);
    removed('attempts', step.attempts);
    cursor = step.next;
    await pause();
  }
  const drain = async (table: string, deleteBatch: (tx: Store) => Promise<number>): Promise<number> => {
    let total = 0;
    while (!options.signal?.aborted) {
      const deleted = await store.transaction(deleteBatch);
      total += deleted;
      removed(table, deleted);
      if (deleted < batch) break;
      await pause();
    }
    return total;
  };
  counts.test_attempts = await drain('attempts', (tx) => tx.attempts.deleteTestsBefore(cutoff, batch));
  counts.delivery_outcomes = await drain('delivery_outcomes', (tx) => tx.deliveryOutcomes.deleteBefore(now - OUTCOMES_KEPT_MS, batch));
  counts.connection_outcomes = await drain('connection_outcomes', (tx) =>
    tx.connectionOutcomes.deleteBefore(now - CONNECTION_OUTCOMES_KEPT_MS, batch),
  );
  return counts;
}

async function retentionStep(tx: Store, from: number, cutoff: number, batch: number): Promise<Step> {
  const step: Step = { events: 0, deliveries: 0, attempts: 0, next: undefined, busy: false };
  if (!(await tryLockRetention(tx))) return { ...step, busy: true };
  const rows = await tx.events.oldest(from, EVENTS_PER_STEP);
  const young = rows.findIndex((r) => r.created_at >= cutoff);
  const old = young < 0 ? rows : rows.slice(0, young);
  if (old.length === 0) return step;
  const pinned = await tx.events.withUnfinishedDeliveries(old.map((r) => r.id));
  // The old events this step takes on: unpinned ones up to about `batch` deliveries (one at least).
  const taken: number[] = [];
  let budget = 0;
  let examinedUpTo = (old[old.length - 1] as { id: number }).id;
  for (const r of old) {
    if (pinned.has(r.id)) continue;
    if (taken.length > 0 && budget + r.delivery_count > batch) {
      examinedUpTo = r.id - 1;
      break;
    }
    taken.push(r.id);
    budget += r.delivery_count;
  }
  step.attempts = await tx.attempts.deleteForEvents(taken, batch);
  step.deliveries = await tx.deliveries.deleteFinishedOfEvents(taken, batch);
  step.events = await tx.events.deleteWithoutDeliveries(taken);
  // An event with deliveries left (a large fan-out) is taken up again by the next step; so
  // are the old events beyond this step's budget, and the next page when this one was all old.
  const leftover = step.events < taken.length;
  const cut = examinedUpTo < (old[old.length - 1] as { id: number }).id;
  const more = young < 0 && rows.length === EVENTS_PER_STEP;
  if (leftover || cut || more) step.next = leftover ? (taken[0] as number) - 1 : examinedUpTo;
  return step;
}
