import { readFileSync } from 'node:fs';
import { eventBodySchemas } from '../api/publish.js';
import type { Config } from '../config.js';
import { HeraldError } from '../domain/errors.js';
import type { EventInput } from '../domain/events.js';
import { organizationByRef } from '../domain/organization-ref.js';
import { check, compile } from '../domain/validation.js';
import { withDatabase } from './context.js';

export interface SendOptions {
  organization: string;
  /** A JSON file (`-`: standard input) holding one event `{event_type, data}` or a batch `{events: […]}`. */
  file?: string;
  /** Or the catalog's sample of this event type. */
  sample?: string;
  idempotencyKey?: string;
}

/**
 * `herald events send`: publishes for an organization exactly as `POST …/events` (or
 * `/events/batch`) does: the same body checks, delivery bounds and Idempotency-Key. Answers
 * the accepted events.
 */
export function sendEvents(config: Config, options: SendOptions) {
  return withDatabase(config, async ({ store, catalog, events }) => {
    const org = await organizationByRef(store, options.organization);
    const schemas = eventBodySchemas(catalog);
    let body: unknown;
    if (options.sample !== undefined) {
      const type = catalog.get(options.sample);
      if (!type) {
        throw new HeraldError(400, [
          { code: 'invalid_choice', detail: `"${options.sample}" is not an event type; known: ${catalog.names().join(', ')}.` },
        ]);
      }
      body = { event_type: type.name, data: type.sample };
    } else {
      const file = options.file as string;
      const text = readFileSync(file === '-' ? 0 : file, 'utf8');
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new HeraldError(400, [{ code: 'invalid', detail: `${file} is not JSON: ${(error as Error).message}` }]);
      }
    }
    const key = options.idempotencyKey;
    if (body !== null && typeof body === 'object' && 'events' in body) {
      check(compile(schemas.batch), body);
      return (await events.ingest(org.id, (body as { events: EventInput[] }).events, key)).accepted;
    }
    check(compile(schemas.event), body);
    return (await events.ingestOne(org.id, body as EventInput, key)).accepted;
  });
}
