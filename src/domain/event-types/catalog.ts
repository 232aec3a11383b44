import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { compile } from '../validation.js';
import { OPERATIONAL_PREFIX, OPERATIONAL_TYPES, type OperationalType, operationalData, operationalSample } from './operational.js';
import { parcelEventData, parcelEventSample } from './parcel-event-created.js';

export interface EventType {
  name: string;
  description: string;
  /** JSON schema of the event's `data`. */
  schema: object;
  sample: unknown;
  validate: ValidateFunction;
}

const anyObject = { type: 'object' };

const SENDKIT_TYPES: Record<string, string> = {
  'email.sent': 'An email was sent.',
  'email.opened': 'An email was opened.',
  'email.clicked': 'A link in an email was clicked.',
  'email.replied': 'A recipient replied.',
  'email.positive_reply': 'A reply was classified as positive.',
  'email.bounced': 'An email bounced.',
  'email.unsubscribed': 'A recipient unsubscribed.',
  'lead.updated': 'A lead was updated.',
};

function make(name: string, description: string, schema: object, sample: unknown): EventType {
  return { name, description, schema, sample, validate: compile(schema) };
}

/** The event types Herald accepts; an operator adds more from HERALD_EVENT_TYPES_FILE. */
export class EventTypeCatalog {
  readonly #types = new Map<string, EventType>();

  constructor(extraFile?: string) {
    this.add(
      make(
        'parcels.event.created',
        'A parcel tracking event occurred (shipped, delivered, returned, …).',
        parcelEventData,
        parcelEventSample,
      ),
    );
    for (const [name, description] of Object.entries(SENDKIT_TYPES)) {
      this.add(make(name, description, anyObject, { id: 'sample', message: `Sample ${name} event` }));
    }
    for (const [name, description] of Object.entries(OPERATIONAL_TYPES)) {
      this.add(make(name, description, operationalData, operationalSample(name as OperationalType)));
    }
    if (extraFile) {
      const entries = JSON.parse(readFileSync(extraFile, 'utf8')) as Array<{
        name: string;
        description?: string;
        schema?: object;
        sample?: unknown;
      }>;
      if (!Array.isArray(entries)) throw new Error(`${extraFile} must hold a JSON array of event types`);
      for (const e of entries) {
        if (typeof e.name !== 'string' || !/^[a-z0-9_]+(\.[a-z0-9_]+)+$/.test(e.name)) {
          throw new Error(`${extraFile}: invalid event type name ${JSON.stringify(e.name)}`);
        }
        if (e.name.startsWith(OPERATIONAL_PREFIX)) throw new Error(`${extraFile}: ${e.name}: the herald.* names are Herald's own`);
        this.add(make(e.name, e.description ?? '', e.schema ?? anyObject, e.sample ?? {}));
      }
    }
  }

  private add(type: EventType): void {
    this.#types.set(type.name, type);
  }

  get(name: string): EventType | undefined {
    return this.#types.get(name);
  }

  names(): string[] {
    return [...this.#types.keys()];
  }

  all(): EventType[] {
    return [...this.#types.values()];
  }
}
