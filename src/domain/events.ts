import { DEFER, GroupCommit, type Outcome } from '../store/group-commit.js';
import { retryConflicts } from '../store/retry-conflicts.js';
import type { EventRow } from '../store/schema.js';
import type { EventFilter } from '../store/events.js';
import type { Store } from '../store/store.js';
import type { EventTypeCatalog } from './event-types/catalog.js';
import { OPERATIONAL_PREFIX } from './event-types/operational.js';
import { type FieldError, HeraldError, notFound } from './errors.js';
import type { AcceptedEvent, EventInput, IngestAnswer } from './ingest-answer.js';
import { DEFAULT_INGEST_LIMITS, type IngestLimits, type IngestRequest, MAX_REQUESTS_PER_COMMIT, writeIngestCommit } from './ingest-commit.js';
import { requestHash } from './request-hash.js';
import { compile, toFieldErrors } from './validation.js';
import { isoSeconds } from './time.js';

export const MAX_BATCH = 1000;

export { DEFAULT_INGEST_LIMITS, type IngestLimits } from './ingest-commit.js';

export type { AcceptedEvent, EventInput, IngestAnswer } from './ingest-answer.js';

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
    if (type && input.event_type.startsWith(OPERATIONAL_PREFIX)) {
      return [
        {
          code: 'invalid',
          detail: `"${input.event_type}" is an operational event type: only Herald itself produces it.`,
          pointer: `${base}/event_type`,
        },
      ];
    }
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
    const outcomes = await retryConflicts(() =>
      this.store.transaction((tx) => writeIngestCommit(tx, requests, this.limits, this.now())),
    );
    const fresh = outcomes.flatMap((o) => (o === DEFER || o instanceof Error || o.replayed ? [] : o.accepted));
    if (fresh.length > 0) this.onAccepted(fresh);
    return outcomes;
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
