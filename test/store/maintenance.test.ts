/**
 * The periodic clean-up deletes expired idempotency keys, access tokens and OAuth states in
 * bounded batches, each batch its own short transaction, and keeps everything still valid.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runMaintenance } from '../../src/delivery/maintenance.js';
import { IDEMPOTENCY_TTL_MS } from '../../src/store/idempotency.js';
import { createHook } from '../delivery/helpers.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';

const EXPIRED = 2_500;
const VALID = 7;
const BATCH = 1_000;

describe.each(DATABASES)('maintenance on %s', (kind) => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
  });
  afterAll(() => h?.close());

  it(`deletes ${EXPIRED} expired rows of each kind in batches of ${BATCH}, one transaction each, and keeps the valid ones`, async () => {
    const { store } = h.herald;
    const db = store.db;
    const now = Date.now();
    const org = await h.createOrg();
    const key = await h.herald.auth.keyPair(org.public_key, org.secret_key);
    const { connection } = await createHook(h, org, { url: 'http://127.0.0.1:9/unused' });
    const hex = () => randomBytes(16).toString('hex');

    const rows = <T>(count: number, make: (i: number) => T) => Array.from({ length: count }, (_, i) => make(i));
    const tokens = [
      ...rows(EXPIRED, (i) => ({ expires_at: now - 1 - i })),
      ...rows(VALID, (i) => ({ expires_at: now + 60_000 + i })),
    ].map((t) => ({ ...t, token_hash: hex(), api_key_id: key?.apiKeyId as number, organization_id: org.organization_id }));
    const states = [
      ...rows(EXPIRED, (i) => ({ expires_at: now - 1 - i })),
      ...rows(VALID, (i) => ({ expires_at: now + 60_000 + i })),
    ].map((s) => ({
      ...s,
      state_hash: hex(),
      organization_id: org.organization_id,
      connection_id: connection.id as number,
      verifier_sealed: 'sealed',
      used_at: null,
    }));
    const keys = [
      ...rows(EXPIRED, (i) => ({ created_at: now - IDEMPOTENCY_TTL_MS - 1 - i })),
      ...rows(VALID, (i) => ({ created_at: now - i })),
    ].map((k) => ({ ...k, organization_id: org.organization_id, key: hex(), response: '{}', request_hash: null }));
    for (let i = 0; i < EXPIRED + VALID; i += 500) {
      await db.insertInto('access_tokens').values(tokens.slice(i, i + 500)).execute();
      await db.insertInto('oauth_states').values(states.slice(i, i + 500)).execute();
      await db.insertInto('idempotency_keys').values(keys.slice(i, i + 500)).execute();
    }

    const transaction = vi.spyOn(store, 'transaction');
    const batches: Record<string, number[]> = { accessTokens: [], oauthStates: [], idempotencyKeys: [] };
    for (const repository of Object.keys(batches) as Array<'accessTokens' | 'oauthStates' | 'idempotencyKeys'>) {
      // Each batch's size, as the repository answers it inside its transaction.
      const original = store[repository].deleteExpired;
      vi.spyOn(Object.getPrototypeOf(store[repository]), 'deleteExpired').mockImplementation(async function (
        this: unknown,
        ...args: unknown[]
      ) {
        const deleted = await (original as (...a: unknown[]) => Promise<number>).apply(this, args);
        batches[repository]?.push(deleted);
        return deleted;
      });
    }
    let transactions: number;
    try {
      const purged = await runMaintenance(store, now, { batch: BATCH });
      expect(purged).toEqual({ idempotencyKeys: EXPIRED, accessTokens: EXPIRED, oauthStates: EXPIRED, portalSessions: 0 });
      transactions = transaction.mock.calls.length;
    } finally {
      vi.restoreAllMocks();
    }
    for (const sizes of Object.values(batches)) expect(sizes).toEqual([1000, 1000, 500]);
    // Three batches of each of the three kinds, and one (empty) of portal sessions.
    expect(transactions).toBe(10);

    const left = async (table: 'access_tokens' | 'oauth_states' | 'idempotency_keys') =>
      Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    expect(await left('access_tokens')).toBe(VALID);
    expect(await left('oauth_states')).toBe(VALID);
    expect(await left('idempotency_keys')).toBe(VALID);
    // A second pass finds nothing: one empty batch per kind.
    expect(await runMaintenance(store, now)).toEqual({ idempotencyKeys: 0, accessTokens: 0, oauthStates: 0, portalSessions: 0 });
  });
});
