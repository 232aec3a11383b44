import type { Insertable } from 'kysely';
import type { DeliveriesTable, EventRow } from '../store/schema.js';
import type { EventFilter } from '../store/events.js';
import { GroupCommit } from '../store/group-commit.js';
import type { Store } from '../store/store.js';
import type { EventTypeCatalog } from './event-types/catalog.js';
import { type FieldError, HeraldError, notFound } from './errors.js';
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

/** One ingest request: one event or a batch, committed together. */
interface IngestRequest {
  organizationId: number;
  events: EventInput[];
  idempotencyKey: string | undefined;
}

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
    private readonly now: () => number = Date.now,
  ) {
    this.#commits = new GroupCommit((requests) => this.commit(requests), 200);
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
   */
  async ingest(organizationId: number, events: EventInput[], idempotencyKey?: string): Promise<IngestAnswer> {
    const errors = events.flatMap((e, i) => this.validate(e, `/events/${i}`));
    if (errors.length > 0) throw new HeraldError(400, errors);
    return this.#commits.submit({ organizationId, events, idempotencyKey });
  }

  /** Single-event form: pointers are relative to the body itself. */
  async ingestOne(organizationId: number, event: EventInput, idempotencyKey?: string): Promise<IngestAnswer> {
    const errors = this.validate(event);
    if (errors.length > 0) throw new HeraldError(400, errors);
    return this.#commits.submit({ organizationId, events: [event], idempotencyKey });
  }

  private async commit(requests: IngestRequest[]): Promise<Array<IngestAnswer | Error>> {
    const now = this.now();
    const answers = await this.store.transaction(async (tx) => {
      const routes = new Map<string, Array<{ id: number; connection_id: number }>>();
      const out: IngestAnswer[] = [];
      const newEvents: Array<{ request: number; input: EventInput; subscriptions: Array<{ id: number; connection_id: number }> }> = [];
      const pendingKeys: Array<{ request: number; organizationId: number; key: string }> = [];
      const keysInThisCommit = new Map<string, number>();
      for (let r = 0; r < requests.length; r++) {
        const request = requests[r] as IngestRequest;
        if (request.idempotencyKey !== undefined) {
          const sameKey = keysInThisCommit.get(`${request.organizationId}:${request.idempotencyKey}`);
          if (sameKey !== undefined) {
            // A repeat inside this very commit: it shares the first request's answer.
            out[r] = { accepted: (out[sameKey] as IngestAnswer).accepted, replayed: true };
            continue;
          }
          keysInThisCommit.set(`${request.organizationId}:${request.idempotencyKey}`, r);
          const earlier = await tx.idempotencyKeys.claim(request.organizationId, request.idempotencyKey, now);
          if (earlier !== undefined) {
            out[r] = { accepted: JSON.parse(earlier) as AcceptedEvent[], replayed: true };
            continue;
          }
          pendingKeys.push({ request: r, organizationId: request.organizationId, key: request.idempotencyKey });
        }
        out[r] = { accepted: [], replayed: false };
        for (const input of request.events) {
          const routeKey = `${request.organizationId}:${input.event_type}`;
          let subscriptions = routes.get(routeKey);
          if (!subscriptions) {
            subscriptions = await tx.subscriptions.active(request.organizationId, input.event_type);
            routes.set(routeKey, subscriptions);
          }
          newEvents.push({ request: r, input, subscriptions });
        }
      }
      if (newEvents.length === 0) return out;
      const ids = await tx.events.insertMany(
        newEvents.map(({ request, input, subscriptions }) => ({
          organization_id: (requests[request] as IngestRequest).organizationId,
          event_type: input.event_type,
          payload: JSON.stringify({ event_type: input.event_type, data: input.data }),
          profile: input.profile ? JSON.stringify(input.profile) : null,
          delivery_count: subscriptions.length,
          created_at: now,
        })),
      );
      const deliveries: Insertable<DeliveriesTable>[] = [];
      newEvents.forEach(({ request, input, subscriptions }, i) => {
        const organizationId = (requests[request] as IngestRequest).organizationId;
        const eventId = ids[i] as number;
        for (const s of subscriptions) {
          deliveries.push({
            organization_id: organizationId,
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
        }
        (out[request] as IngestAnswer).accepted.push({
          id: eventId,
          event_type: input.event_type,
          created_at: isoSeconds(now),
          deliveries: subscriptions.length,
        });
      });
      await tx.deliveries.insertMany(deliveries);
      for (const k of pendingKeys) {
        await tx.idempotencyKeys.store(k.organizationId, k.key, JSON.stringify((out[k.request] as IngestAnswer).accepted));
      }
      if (deliveries.length > 0) await tx.signalDue();
      return out;
    });
    const fresh = answers.filter((a) => !a.replayed).flatMap((a) => a.accepted);
    if (fresh.length > 0) this.onAccepted(fresh);
    return answers;
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
