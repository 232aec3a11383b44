import type { Insertable } from 'kysely';
import type { Limits } from '../config.js';
import { DEFER, type Outcome } from '../store/group-commit.js';
import type { DeliveriesTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { AcceptedEvent, EventInput, IngestAnswer } from './ingest-answer.js';
import { idempotencyKeyReused, tooManyDeliveries } from './limits.js';
import { isoSeconds } from './time.js';

// The transaction of one group commit of ingest requests: routing, the per-request and
// per-commit delivery bounds, Idempotency-Keys, and the event and delivery rows.

export type IngestLimits = Pick<Limits, 'deliveriesPerRequest' | 'deliveriesPerCommit'>;

export const DEFAULT_INGEST_LIMITS: IngestLimits = { deliveriesPerRequest: 10_000, deliveriesPerCommit: 10_000 };

/** Requests per group commit (a commit also stops at `deliveriesPerCommit`). */
export const MAX_REQUESTS_PER_COMMIT = 200;

/**
 * Delivery rows inserted between two yields to the event loop. A commit's fan-out insert
 * runs synchronously on SQLite's main connection; in slices, HTTP and timers keep running
 * while a 10,000-delivery request is written (its transaction stays open meanwhile).
 */
const DELIVERY_SLICE = 1000;

/** One ingest request: one event or a batch, committed together. */
export interface IngestRequest {
  organizationId: number;
  events: EventInput[];
  /** Pointer of the events in the body, for errors about all of them ('' or '/events'). */
  pointer: string;
  /** The key and the hash of the request it is bound to. */
  idempotency: { key: string; hash: string } | undefined;
  /** Set once a commit passed it over for its budget: it goes first in the next one. */
  deferred?: boolean;
}

type Subscribers = Array<{ id: number; connection_id: number }>;

/** The row of a new delivery of an event to one subscription: due now. */
export function newDelivery(
  organizationId: number,
  eventId: number,
  subscription: { id: number; connection_id: number },
  now: number,
): Insertable<DeliveriesTable> {
  return {
    organization_id: organizationId,
    event_id: eventId,
    subscription_id: subscription.id,
    connection_id: subscription.connection_id,
    status: 'pending',
    attempt_count: 0,
    next_attempt_at: now,
    last_status: null,
    last_error: null,
    created_at: now,
    updated_at: now,
  };
}

/** One group commit's transaction: what each request answers, or DEFER for the next commit. */
export async function writeIngestCommit(
  tx: Store,
  requests: IngestRequest[],
  limits: IngestLimits,
  now: number,
): Promise<Array<Outcome<IngestAnswer>>> {
  const outcomes: Outcomes = new Array(requests.length);
  const { routed, counts } = await route(tx, requests);
  const { taken, keyGroups } = takeWithinBudget(requests, counts, limits, outcomes);
  const { claimants, repeats } = await claimKeys(tx, requests, keyGroups, outcomes, now);
  // Everything else that was taken either exceeds the per-request bound (refused whole,
  // nothing written) or is written now.
  const repeating = new Set(repeats.map((x) => x.request));
  const writers: number[] = [];
  for (const r of taken) {
    if (outcomes[r] !== undefined || repeating.has(r)) continue;
    const count = counts[r] as number;
    if (count > limits.deliveriesPerRequest) {
      outcomes[r] = tooManyDeliveries(count, limits.deliveriesPerRequest, (requests[r] as IngestRequest).pointer);
    } else {
      writers.push(r);
    }
  }
  await insertWriters(tx, requests, routed, writers, outcomes, now);
  // A key claimed here keeps the answer of its request, or is given up when it was refused.
  for (const r of claimants) {
    const request = requests[r] as IngestRequest;
    const key = (request.idempotency as { key: string }).key;
    const outcome = outcomes[r];
    if (outcome instanceof Error) await tx.idempotencyKeys.release(request.organizationId, key);
    else await tx.idempotencyKeys.store(request.organizationId, key, JSON.stringify((outcome as IngestAnswer).accepted));
  }
  for (const { request, of } of repeats) {
    const first = outcomes[of] as IngestAnswer | Error;
    outcomes[request] = first instanceof Error ? first : { accepted: first.accepted, replayed: true };
  }
  return outcomes as Array<Outcome<IngestAnswer>>;
}

type Outcomes = Array<Outcome<IngestAnswer> | undefined>;

/**
 * Routing, once per organization and event type in this commit: which subscriptions each
 * event goes to, and so how many deliveries each request would create.
 */
async function route(tx: Store, requests: IngestRequest[]): Promise<{ routed: Subscribers[][]; counts: number[] }> {
  const routes = new Map<string, Subscribers>();
  const routed: Subscribers[][] = [];
  const counts: number[] = [];
  for (const request of requests) {
    const perEvent: Subscribers[] = [];
    let count = 0;
    for (const input of request.events) {
      const routeKey = `${request.organizationId}:${input.event_type}`;
      let subscribers = routes.get(routeKey);
      if (!subscribers) {
        subscribers = await tx.subscriptions.active(request.organizationId, input.event_type);
        routes.set(routeKey, subscribers);
      }
      perEvent.push(subscribers);
      count += subscribers.length;
    }
    routed.push(perEvent);
    counts.push(count);
  }
  return { routed, counts };
}

/**
 * Which requests this commit takes: as many as fit its delivery budget; the others are
 * DEFERred to the next commit. Requests passed over before go first (in arrival order), so
 * none waits forever; then the lightest first, so that a big batch gathered just before a
 * few single events does not make them wait a whole commit more. The first one taken always
 * fits, however large (up to the per-request bound). Requests over the per-request bound
 * weigh nothing (they are refused); repeats of a key go with the first request of that key
 * and weigh nothing either (they write nothing). Answers the taken requests in arrival
 * order, and the keyed ones among them grouped by key, also in arrival order.
 */
function takeWithinBudget(
  requests: IngestRequest[],
  counts: number[],
  limits: IngestLimits,
  outcomes: Outcomes,
): { taken: number[]; keyGroups: Map<string, number[]> } {
  const keyOf = (r: IngestRequest) => (r.idempotency ? `${r.organizationId}:${r.idempotency.key}` : undefined);
  const weightOf = (r: number) => ((counts[r] as number) > limits.deliveriesPerRequest ? 0 : (counts[r] as number));
  const firstOfKey = new Map<string, number>();
  const candidates: number[] = [];
  const repeats: number[] = [];
  requests.forEach((request, r) => {
    const key = keyOf(request);
    if (key !== undefined && firstOfKey.has(key)) repeats.push(r);
    else {
      if (key !== undefined) firstOfKey.set(key, r);
      candidates.push(r);
    }
  });
  const deferred = (r: number) => (requests[r] as IngestRequest).deferred === true;
  candidates.sort((a, b) => {
    if (deferred(a) !== deferred(b)) return deferred(a) ? -1 : 1;
    if (deferred(a)) return a - b;
    return weightOf(a) - weightOf(b) || a - b;
  });
  const taken = new Set<number>();
  let budget = 0;
  for (const r of candidates) {
    const weight = weightOf(r);
    if (taken.size > 0 && budget + weight > limits.deliveriesPerCommit) break;
    budget += weight;
    taken.add(r);
  }
  for (const r of repeats) {
    if (taken.has(firstOfKey.get(keyOf(requests[r] as IngestRequest) as string) as number)) taken.add(r);
  }
  const keyGroups = new Map<string, number[]>();
  for (let r = 0; r < requests.length; r++) {
    const request = requests[r] as IngestRequest;
    if (!taken.has(r)) {
      outcomes[r] = DEFER;
      request.deferred = true;
      continue;
    }
    const key = keyOf(request);
    if (key === undefined) continue;
    const group = keyGroups.get(key);
    if (group) group.push(r);
    else keyGroups.set(key, [r]);
  }
  return { taken: [...taken].sort((a, b) => a - b), keyGroups };
}

/**
 * Idempotency keys, claimed in one fixed order (organization, then key): two processes
 * committing the same keys then wait for each other in the same order and never deadlock.
 * A key already stored answers its requests (replay when the request is the same, 409 when
 * not). Otherwise the first request of the key in this commit claims it (a claimant); its
 * repeats here share its answer when their body is the same, and answer 409 when it is not.
 */
async function claimKeys(
  tx: Store,
  requests: IngestRequest[],
  keyGroups: Map<string, number[]>,
  outcomes: Outcomes,
  now: number,
): Promise<{ claimants: number[]; repeats: Array<{ request: number; of: number }> }> {
  const claimants: number[] = [];
  const repeats: Array<{ request: number; of: number }> = [];
  const lead = (group: number[]) => requests[group[0] as number] as IngestRequest;
  const groups = [...keyGroups.values()].sort((a, b) => compareKeys(lead(a), lead(b)));
  for (const group of groups) {
    const first = group[0] as number;
    const { organizationId } = lead(group);
    const { key, hash } = lead(group).idempotency as { key: string; hash: string };
    const claim = await tx.idempotencyKeys.claim(organizationId, key, hash, now);
    if (claim.kind === 'stored') {
      for (const r of group) {
        // A key stored before hashes existed (null) replays as it always did.
        const same = claim.requestHash === null || claim.requestHash === requests[r]?.idempotency?.hash;
        outcomes[r] = same ? { accepted: JSON.parse(claim.response) as AcceptedEvent[], replayed: true } : idempotencyKeyReused(key);
      }
      continue;
    }
    claimants.push(first);
    for (const r of group.slice(1)) {
      if (requests[r]?.idempotency?.hash === hash) repeats.push({ request: r, of: first });
      else outcomes[r] = idempotencyKeyReused(key);
    }
  }
  return { claimants, repeats };
}

/** The events of the `writers` and their deliveries; fills in those requests' answers. */
async function insertWriters(
  tx: Store,
  requests: IngestRequest[],
  routed: Subscribers[][],
  writers: number[],
  outcomes: Outcomes,
  now: number,
): Promise<void> {
  if (writers.length === 0) return;
  const rows = writers.flatMap((r) => {
    const request = requests[r] as IngestRequest;
    return request.events.map((input, i) => ({
      organization_id: request.organizationId,
      event_type: input.event_type,
      payload: JSON.stringify({ event_type: input.event_type, data: input.data }),
      profile: input.profile ? JSON.stringify(input.profile) : null,
      delivery_count: (routed[r]?.[i] as Subscribers).length,
      created_at: now,
    }));
  });
  const ids = await tx.events.insertMany(rows);
  let slice: Insertable<DeliveriesTable>[] = [];
  let created = 0;
  let row = 0;
  for (const r of writers) {
    const request = requests[r] as IngestRequest;
    const accepted: AcceptedEvent[] = [];
    for (let i = 0; i < request.events.length; i++) {
      const eventId = ids[row++] as number;
      const subscribers = routed[r]?.[i] as Subscribers;
      for (const s of subscribers) {
        slice.push(newDelivery(request.organizationId, eventId, s, now));
        if (slice.length >= DELIVERY_SLICE) {
          await tx.deliveries.insertMany(slice);
          created += slice.length;
          slice = [];
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      accepted.push({
        id: eventId,
        event_type: (request.events[i] as EventInput).event_type,
        created_at: isoSeconds(now),
        deliveries: subscribers.length,
      });
    }
    outcomes[r] = { accepted, replayed: false };
  }
  if (slice.length > 0) await tx.deliveries.insertMany(slice);
  created += slice.length;
  if (created > 0) await tx.signalDue();
}

/** Claim order of idempotency keys: organization, then key (plain code-unit order, the same in every process). */
function compareKeys(a: IngestRequest, b: IngestRequest): number {
  if (a.organizationId !== b.organizationId) return a.organizationId - b.organizationId;
  const ka = (a.idempotency as { key: string }).key;
  const kb = (b.idempotency as { key: string }).key;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
