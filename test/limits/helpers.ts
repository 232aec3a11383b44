import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Store } from '../../src/store/store.js';
import type { Credentials, TestHerald } from '../support/herald.js';
import { parcelEvent } from '../support/events.js';
import { CONNECTIONS, SUBSCRIPTIONS } from '../delivery/helpers.js';

export { parcelEvent };

/** Rows of an organization in a table, read straight from the database. */
export async function rows(store: Store, table: 'events' | 'deliveries' | 'idempotency_keys' | 'connections' | 'subscriptions', organizationId: number): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('organization_id', '=', organizationId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** `n` webhook connections, each with one `parcels.event.created` subscription. */
export async function subscribers(h: TestHerald, org: Credentials, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const conn = await h.request('POST', CONNECTIONS, {
      auth: org,
      body: { type: 'webhook', configuration: { url: `http://127.0.0.1:9/hook-${i}`, auth_type: 'none' } },
    });
    expect(conn.status, conn.text).toBe(201);
    const sub = await h.request('POST', SUBSCRIPTIONS, {
      auth: org,
      body: { connection_id: conn.body.data.id, event_type: 'parcels.event.created' },
    });
    expect(sub.status, sub.text).toBe(201);
  }
}

/**
 * A real failure of one request's INSERT inside the database: a trigger refuses events
 * whose payload contains `marker`. Nothing in Herald is stubbed.
 */
export async function refuseEventsContaining(store: Store, marker: string): Promise<void> {
  if (store.dialect === 'sqlite') {
    await sql
      .raw(
        `create trigger refuse_marked_events before insert on events when new.payload like '%${marker}%'
         begin select raise(abort, 'injected failure'); end`,
      )
      .execute(store.db);
  } else {
    await sql
      .raw(
        `create function refuse_marked_events() returns trigger language plpgsql as $$
         begin if new.payload like '%${marker}%' then raise exception 'injected failure'; end if; return new; end $$;
         create trigger refuse_marked_events before insert on events for each row execute function refuse_marked_events()`,
      )
      .execute(store.db);
  }
}

/** A parcel event whose description carries `text` (to be told apart, or to trip a trigger). */
export function markedEvent(parcelId: number, text = 'plain') {
  const event = parcelEvent({ parcelId });
  return { ...event, data: { ...event.data, event: { ...event.data.event, description: text } } };
}
