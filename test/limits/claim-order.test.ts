import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventService } from '../../src/domain/events.js';
import { type OpenedDatabase, openDatabase } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { type Credentials, type TestHerald, startHerald } from '../support/herald.js';
import { markedEvent, rows, subscribers } from './helpers.js';

/** A store that counts the transactions it begins (retries and splits each begin one more). */
class CountingStore extends Store {
  transactions = 0;

  override transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    this.transactions++;
    return super.transaction(fn);
  }
}

/**
 * Two group commits on two connection pools of one PostgreSQL database, claiming the same
 * keys submitted in opposite orders. Claimed in arrival order they wait for each other's keys
 * (PostgreSQL aborts one as a deadlock, which then runs again); claimed in sorted order the
 * second simply waits for the first and replays its answers: one transaction each.
 */
describe.skipIf(!process.env.HERALD_TEST_POSTGRES_URL)('idempotency keys claimed in a fixed order (PostgreSQL)', () => {
  let h: TestHerald;
  let second: OpenedDatabase;
  let org: Credentials;

  beforeAll(async () => {
    h = await startHerald('postgres', {}, { workers: false });
    second = openDatabase(h.env.HERALD_DATABASE_URL as string, h.env.HERALD_DATABASE_SCHEMA);
    org = await h.createOrg();
    await subscribers(h, org, 1);
  });
  afterAll(async () => {
    await second?.db.destroy();
    await h?.close();
  });

  it('never makes two commits of the same keys wait on each other', async () => {
    const stores = [new CountingStore(h.herald.database.db, 'postgres'), new CountingStore(second.db, 'postgres')];
    const services = stores.map((store) => new EventService(store, h.herald.catalog, () => undefined));
    // Warm both pools: both commits then start at once.
    for (const store of stores) await sql`select 1`.execute(store.db);
    const rounds = 3;
    const perRound = 40;
    for (let round = 0; round < rounds; round++) {
      const keys = Array.from({ length: perRound }, (_, i) => `order-${round}-${String(i).padStart(2, '0')}`);
      const submit = (service: EventService, list: string[]) =>
        Promise.all(list.map((key) => service.ingestOne(org.organization_id, markedEvent(round * 100 + keys.indexOf(key)), key)));
      const [a, b] = await Promise.all([submit(services[0] as EventService, keys), submit(services[1] as EventService, [...keys].reverse())]);
      const fromB = new Map([...keys].reverse().map((k, i) => [k, b[i]?.accepted]));
      keys.forEach((k, i) => expect(fromB.get(k), k).toEqual(a[i]?.accepted));
    }
    expect(stores.map((s) => s.transactions)).toEqual([rounds, rounds]);
    expect(await rows(h.herald.store, 'events', org.organization_id)).toBe(rounds * perRound);
  });
});
