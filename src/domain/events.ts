import type { Insertable } from 'kysely';
import type { Limits } from '../config.js';
import { DEFER, GroupCommit, type Outcome } from '../store/group-commit.js';
import { retryConflicts } from '../store/retry-conflicts.js';
import type { DeliveriesTable, EventRow } from '../store/schema.js';
import type { EventFilter } from '../store/events.js';
import type { Store } from '../store/store.js';
import type { EventTypeCatalog } from './event-types/catalog.js';
import { type FieldError, HeraldError, notFound } from './errors.js';
import { idempotencyKeyReused, tooManyDeliveries } from './limits.js';
import { requestHash } from './request-hash.js';
import { compile, toFieldErrors } from './validation.js';
import { isoSeconds } from './time.js';

export const MAX_BATCH = 1000;

export interface EventInput {
  event_type: string;
  data: unknown;
  profile?: Record<string, string>;
}

export interface AcceptedEvent {
  id: number;
  event_type: string;
  created_at: string;
  deliveries: number;
}

export type IngestLimits = Pick<Limits, 'deliveriesPerRequest' | 'deliveriesPerCommit'>;

export const DEFAULT_INGEST_LIMITS: IngestLimits = { deliveriesPerRequest: 10_000, deliveriesPerCommit: 10_000 };

/** Requests per group commit (a commit also stops at `deliveriesPerCommit`). */
const MAX_REQUESTS_PER_COMMIT = 200;

/**
 * Delivery rows inserted between two yields to the event loop. A commit's fan-out insert
 * runs synchronously on SQLite's main connection; in slices, HTTP and timers keep running
 * while a 10,000-delivery request is written (its transaction stays open meanwhile).
 */
const DELIVERY_SLICE = 1000;

/** One ingest request: one event or a batch, committed together. */
interface IngestRequest {
  organizationId: number;
  events: EventInput[];
  /** Pointer of the events in the body, for errors about all of them ('' or '/events'). */
  pointer: string;
  /** The key and the hash of the request it is bound to. */
  idempotency: { key: string; hash: string } | undefined;
}

type Subscribers = Array<{ id: number; connection_id: number }>;

/** What an ingest request answers; replayed as-is for a repeated Idempotency-Key. */
export interface IngestAnswer {
  accepted: AcceptedEvent[];
  replayed: boolean;
}

export const profileSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'Who the event is about (used by Klaviyo connections; never sent to webhooks).',
  properties: {
    email: { type: 'string', minLength: 1 },
    phone_number: { type: 'string', minLength: 1 },
    external_id: { type: 'string', minLength: 1 },
  },
};
const validateProfile = compile(profileSchema);

export class EventService {
  readonly #commits: GroupCommit<IngestRequest, IngestAnswer>;

  constructor(
    private readonly store: Store,
    private readonly catalog: EventTypeCatalog,
    private readonly onAccepted: (events: AcceptedEvent[]) => void,
    private readonly limits: IngestLimits = DEFAULT_INGEST_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.#commits = new GroupCommit((requests) => this.commit(requests), MAX_REQUESTS_PER_COMMIT);
  }

  /** Checks an event against the catalog and its type's schema; pointers under `base`. */
  validate(input: EventInput, base = ''): FieldError[] {
    const type = this.catalog.get(input.event_type);
    if (!type) {
      return [
        { code: 'invalid_choice', detail: `"${input.event_type}" is not a valid choice.`, pointer: `${base}/event_type` },
      ];
    }
    const errors: FieldError[] = [];
    if (!type.validate(input.data)) errors.push(...toFieldErrors(type.validate.errors ?? [], `${base}/data`));
    if (input.profile !== undefined && !validateProfile(input.profile)) {
      errors.push(...toFieldErrors(validateProfile.errors ?? [], `${base}/profile`));
    }
    return errors;
  }

  /**
   * Accepts events: the events and one delivery per active matching subscription are
   * committed in one transaction before this resolves. Concurrent calls share a commit.
   * A request that would create more than `deliveriesPerRequest` deliveries is refused
   * whole (400); a key already used with another body answers 409.
   */
  async ingest(organizationId: number, events: EventInput[], idempotencyKey?: string): Promise<IngestAnswer> {
    const errors = events.flatMap((e, i) => this.validate(e, `/events/${i}`));
    if (errors.length > 0) throw new HeraldError(400, errors);
    return this.#commits.submit({
      organizationId,
      events,
      pointer: '/events',
      idempotency: idempotencyKey === undefined ? undefined : { key: idempotencyKey, hash: requestHash(organizationId, 'batch', { events }) },
    });
  }

  /** Single-event form: pointers are relative to the body itself. */
  async ingestOne(organizationId: number, event: EventInput, idempotencyKey?: string): Promise<IngestAnswer> {
    const errors = this.validate(event);
    if (errors.length > 0) throw new HeraldError(400, errors);
    return this.#commits.submit({
      organizationId,
      events: [event],
      pointer: '',
      idempotency: idempotencyKey === undefined ? undefined : { key: idempotencyKey, hash: requestHash(organizationId, 'single', event) },
    });
  }

  private async commit(requests: IngestRequest[]): Promise<Array<Outcome<IngestAnswer>>> {
    // A deadlock or serialization failure (PostgreSQL) aborts the whole transaction: run it
    // again; what it computed is rebuilt from scratch each time.
    const outcomes = await retryConflicts(() => this.store.transaction((tx) => this.write(tx, requests, this.now())));
    const fresh = outcomes.flatMap((o) => (o === DEFER || o instanceof Error || o.replayed ? [] : o.accepted));
    if (fresh.length > 0) this.onAccepted(fresh);
    return outcomes;
  }

  /** One group commit's transaction: what each request answers, or DEFER for the next commit. */
  private async write(tx: Store, requests: IngestRequest[], now: number): Promise<Array<Outcome<IngestAnswer>>> {
    const { deliveriesPerRequest, deliveriesPerCommit } = this.limits;
    const outcomes: Array<Outcome<IngestAnswer> | undefined> = new Array(requests.length);

    // 1. Routing, once per organization and event type in this commit: which subscriptions
    // each event goes to, and so how many deliveries each request would create.
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

    // 2. The commit takes requests in arrival order until the next one's deliveries would
    // exceed its budget; that one and those after it wait for the next commit. The first
    // always fits. Requests refused for their size, and repeats of a key, write nothing.
    const keyOf = (r: IngestRequest) => (r.idempotency ? `${r.organizationId}:${r.idempotency.key}` : undefined);
    const keyGroups = new Map<string, number[]>();
    let budget = 0;
    let taken = 0;
    for (; taken < requests.length; taken++) {
      const request = requests[taken] as IngestRequest;
      const key = keyOf(request);
      const repeat = key !== undefined && keyGroups.has(key);
      const weight = repeat || (counts[taken] as number) > deliveriesPerRequest ? 0 : (counts[taken] as number);
      if (taken > 0 && budget + weight > deliveriesPerCommit) break;
      budget += weight;
      if (key !== undefined) {
        const group = keyGroups.get(key);
        if (group) group.push(taken);
        else keyGroups.set(key, [taken]);
      }
    }
    for (let r = taken; r < requests.length; r++) outcomes[r] = DEFER;

    // 3. Idempotency keys, claimed in one fixed order (organization, then key): two
    // processes committing the same keys then wait for each other in the same order and
    // never deadlock. The first request of a key in this commit claims it; its repeats
    // here share its answer when their body is the same, and answer 409 when it is not.
    const claimants: number[] = [];
    const repeats: Array<{ request: number; of: number }> = [];
    const groups = [...keyGroups.values()].sort((a, b) => compareKeys(requests[a[0] as number] as IngestRequest, requests[b[0] as number] as IngestRequest));
    for (const group of groups) {
      const first = group[0] as number;
      const lead = requests[first] as IngestRequest;
      const { key, hash } = lead.idempotency as { key: string; hash: string };
      const claim = await tx.idempotencyKeys.claim(lead.organizationId, key, hash, now);
      if (claim.kind === 'stored') {
        for (const r of group) {
          const sameRequest = claim.requestHash === null || claim.requestHash === requests[r]?.idempotency?.hash;
          outcomes[r] = sameRequest
            ? { accepted: JSON.parse(claim.response) as AcceptedEvent[], replayed: true }
            : idempotencyKeyReused(key);
        }
        continue;
      }
      claimants.push(first);
      for (const r of group.slice(1)) {
        if (requests[r]?.idempotency?.hash === hash) repeats.push({ request: r, of: first });
        else outcomes[r] = idempotencyKeyReused(key);
      }
    }
    const repeating = new Set(repeats.map((x) => x.request));

    // 4. Everything else that was taken either exceeds the per-request bound (refused whole,
    // nothing written) or is written now.
    const writers: number[] = [];
    for (let r = 0; r < taken; r++) {
      if (outcomes[r] !== undefined || repeating.has(r)) continue;
      const request = requests[r] as IngestRequest;
      if ((counts[r] as number) > deliveriesPerRequest) {
        outcomes[r] = tooManyDeliveries(counts[r] as number, deliveriesPerRequest, request.pointer);
      } else {
        writers.push(r);
      }
    }
    await this.insert(tx, requests, routed, writers, outcomes, now);

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

  /** The events of the `writers` and their deliveries; fills in those requests' answers. */
  private async insert(
    tx: Store,
    requests: IngestRequest[],
    routed: Subscribers[][],
    writers: number[],
    outcomes: Array<Outcome<IngestAnswer> | undefined>,
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
          slice.push({
            organization_id: request.organizationId,
            event_id: eventId,
            subscription_id: s.id,
            connection_id: s.connection_id,
            status: 'pending',
            attempt_count: 0,
            next_attempt_at: now,
            last_status: null,
            last_error: null,
            created_at: now,
            updated_at: now,
          });
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

  async get(organizationId: number, id: number): Promise<EventRow> {
    const row = await this.store.events.get(organizationId, id);
    if (!row) throw notFound();
    return row;
  }

  page(organizationId: number, filter: EventFilter, beforeId: number | undefined, limit: number): Promise<EventRow[]> {
    return this.store.events.page(organizationId, filter, beforeId, limit);
  }

  toResource(row: EventRow, withPayload: boolean): Record<string, unknown> {
    const resource: Record<string, unknown> = {
      id: row.id,
      event_type: row.event_type,
      created_at: isoSeconds(row.created_at),
      deliveries: row.delivery_count,
    };
    if (withPayload) {
      resource.payload = JSON.parse(row.payload);
      if (row.profile) resource.profile = JSON.parse(row.profile);
    }
    return resource;
  }
}

/** Claim order of idempotency keys: organization, then key (plain code-unit order, the same in every process). */
function compareKeys(a: IngestRequest, b: IngestRequest): number {
  if (a.organizationId !== b.organizationId) return a.organizationId - b.organizationId;
  const ka = (a.idempotency as { key: string }).key;
  const kb = (b.idempotency as { key: string }).key;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
