import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Store } from '../store/store.js';
import { splitHeaders } from './connection-secrets.js';
import { type AcceptedKey, INSTALLATION_ROW, KEY_REFRESH_MS, type Keyring, acceptedKeys, readInstallation } from './installation.js';
import { type KeySource, deriveKey } from './key-material.js';
import { SEALED_TABLES, type SealedTable, connectionColumn } from './sealed-columns.js';
import { sealedKeyId } from './sealer.js';

export interface RotationOptions {
  /** Rows rewritten per transaction. */
  batchSize: number;
  /**
   * How long after the switch running processes may still seal under the old key (they
   * re-read the installation row every KEY_REFRESH_MS); the final check pass starts after it.
   */
  settleMs: number;
  /** Pause between batches, to leave the database to the API and the workers. */
  pauseMs?: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export const DEFAULT_SETTLE_MS = 2 * KEY_REFRESH_MS + 1_000;

export interface RotationSummary {
  key_id: string;
  retired_key_ids: string[];
  resealed: number;
  passes: number;
}

interface PassResult {
  resealed: number;
  /** Rows to look at again: changed under us, or a Klaviyo token refresh holds them. */
  pending: number;
}

/**
 * `herald secrets rotate-key`, while every process keeps running:
 * 1. the new key joins the installation row's accepted keys and becomes the sealing key
 *    (processes started with HERALD_SECRET_KEY=<new> and HERALD_OLD_SECRET_KEYS=<old> follow
 *    within KEY_REFRESH_MS and can open both meanwhile);
 * 2. every sealed column is rewritten under the new key in batches, each row by a conditional
 *    UPDATE on the text it read (a concurrent write wins and is looked at again); `v1.` values
 *    are rewritten too, and `extra_headers` still stored in the clear are sealed;
 * 3. once a pass that began `settleMs` after the switch finds nothing left, the old keys are
 *    retired from the row, so processes with only the new key may start.
 * Running it again after an interruption continues where it stopped.
 */
export async function rotateKey(store: Store, keyring: Keyring, source: KeySource, options: RotationOptions): Promise<RotationSummary> {
  const log = options.log ?? (() => undefined);
  const next = await deriveKey(source, keyring.salt);
  const { sealer } = keyring;
  sealer.add(next);

  const row = await readInstallation(store.db);
  if (!row) throw new Error('the database has no installation row; start Herald once before rotating its key');
  const accepted = acceptedKeys(row);
  const clash = accepted.find((k) => k.kid === next.kid && k.check !== next.check);
  if (clash) throw new Error(`the new key's id ${next.kid} collides with an accepted key; choose another key`);
  const withNew: AcceptedKey[] = accepted.some((k) => k.kid === next.kid) ? accepted : [...accepted, { kid: next.kid, check: next.check }];
  const switched = await store.db
    .updateTable('installation')
    .set({ keys: JSON.stringify(withNew), primary_kid: next.kid, updated_at: Date.now() })
    .where('id', '=', INSTALLATION_ROW)
    .where('keys', '=', row.keys)
    .executeTakeFirst();
  if (Number(switched.numUpdatedRows) !== 1) throw new Error('the installation row changed meanwhile (another rotate-key?); run it again');
  sealer.usePrimary(next.kid);
  const switchedAt = Date.now();
  log('sealing under the new key; rewriting every sealed value', { key_id: next.kid, accepted_key_ids: withNew.map((k) => k.kid) });

  let resealed = 0;
  let passes = 0;
  for (;;) {
    const startedAt = Date.now();
    passes += 1;
    const pass = await sweep(store, keyring, options);
    resealed += pass.resealed;
    log('pass done', { pass: passes, resealed: pass.resealed, pending: pass.pending });
    if (pass.resealed === 0 && pass.pending === 0 && startedAt >= switchedAt + options.settleMs) break;
    if (pass.resealed === 0) await sleep(pass.pending > 0 ? 1000 : Math.max(0, switchedAt + options.settleMs - Date.now()));
  }

  const retired = withNew.filter((k) => k.kid !== next.kid).map((k) => k.kid);
  await store.db
    .updateTable('installation')
    .set({ keys: JSON.stringify([{ kid: next.kid, check: next.check }]), updated_at: Date.now() })
    .where('id', '=', INSTALLATION_ROW)
    .where('primary_kid', '=', next.kid)
    .execute();
  log('old keys retired: processes need only the new key now', { key_id: next.kid, retired_key_ids: retired });
  return { key_id: next.kid, retired_key_ids: retired, resealed, passes };
}

async function sweep(store: Store, keyring: Keyring, options: RotationOptions): Promise<PassResult> {
  const total: PassResult = { resealed: 0, pending: 0 };
  const add = (r: PassResult) => {
    total.resealed += r.resealed;
    total.pending += r.pending;
  };
  for (const table of SEALED_TABLES) {
    for (const column of table.columns) add(await sweepColumn(store, keyring, table, column, options));
  }
  add(await sealClearHeaders(store, keyring, options));
  return total;
}

/** Rewrites, batch by batch, the values of one column not yet under the sealing key. */
async function sweepColumn(store: Store, keyring: Keyring, spec: SealedTable, column: string, options: RotationOptions): Promise<PassResult> {
  const { sealer } = keyring;
  const result: PassResult = { resealed: 0, pending: 0 };
  const key = sql.ref(spec.key);
  const col = sql.ref(column);
  let cursor: string | number | undefined;
  for (;;) {
    const after = cursor === undefined ? sql`` : sql`and ${key} > ${cursor}`;
    const { rows } = await sql<{ k: string | number; v: string }>`
      select ${key} as k, ${col} as v from ${sql.table(spec.table)}
      where ${col} is not null and ${col} not like ${`v2.${sealer.primaryKid}.%`} ${after}
      order by ${key} limit ${options.batchSize}`.execute(store.db);
    if (rows.length === 0) return result;
    await store.transaction(async (tx) => {
      for (const { k, v } of rows) {
        const at = { table: spec.table, column, row: k };
        let plain: string;
        try {
          plain = sealer.open(v, at);
        } catch (error) {
          throw new Error(
            `cannot open ${spec.table}.${column} of row ${k} (key ${sealedKeyId(v)}): ${(error as Error).message}. ` +
              'Nothing more was rewritten; give the key it is sealed under in HERALD_OLD_SECRET_KEYS and run rotate-key again.',
          );
        }
        // A token refresh in flight owns this value (its compare-and-set): leave it to finish.
        if (column === 'oauth_sealed' && isLeased(plain)) {
          result.pending += 1;
          continue;
        }
        const updated = await sql`
          update ${sql.table(spec.table)} set ${col} = ${sealer.seal(plain, at)}
          where ${key} = ${k} and ${col} = ${v}`.execute(tx.db);
        if (Number(updated.numAffectedRows ?? 0) === 1) result.resealed += 1;
        else result.pending += 1;
      }
    });
    cursor = (rows[rows.length - 1] as { k: string | number }).k;
    if (options.pauseMs) await sleep(options.pauseMs);
  }
}

function isLeased(grantJson: string): boolean {
  const grant = JSON.parse(grantJson) as { refreshing_until?: number };
  return grant.refreshing_until !== undefined && grant.refreshing_until > Date.now();
}

/** Connections from before migration 0005 keep `extra_headers` values in `config`: seal them. */
async function sealClearHeaders(store: Store, keyring: Keyring, options: RotationOptions): Promise<PassResult> {
  const result: PassResult = { resealed: 0, pending: 0 };
  let cursor = 0;
  for (;;) {
    const rows = await store.db
      .selectFrom('connections')
      .select(['id', 'config'])
      .where('extra_headers_sealed', 'is', null)
      .where('config', 'like', '%"extra_headers":{"%')
      .where('id', '>', cursor)
      .orderBy('id')
      .limit(options.batchSize)
      .execute();
    if (rows.length === 0) return result;
    await store.transaction(async (tx) => {
      for (const row of rows) {
        const stored = splitHeaders(JSON.parse(row.config) as Record<string, unknown>);
        const updated = await tx.db
          .updateTable('connections')
          .set({
            config: JSON.stringify(stored.config),
            extra_headers_sealed: stored.headers
              ? keyring.sealer.sealJson(stored.headers, connectionColumn('extra_headers_sealed', row.id))
              : null,
          })
          .where('id', '=', row.id)
          .where('config', '=', row.config)
          .where('extra_headers_sealed', 'is', null)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 1) result.resealed += 1;
        else result.pending += 1;
      }
    });
    cursor = (rows[rows.length - 1] as { id: number }).id;
    if (options.pauseMs) await sleep(options.pauseMs);
  }
}

/** How many sealed values each key holds, per column (for `herald secrets status`). */
export async function sealedValueCounts(store: Store): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const spec of SEALED_TABLES) {
    for (const column of spec.columns) {
      const col = sql.ref(column);
      const { rows } = await sql<{ p: string; n: number | string }>`
        select substr(${col}, 1, 15) as p, count(*) as n from ${sql.table(spec.table)}
        where ${col} is not null group by substr(${col}, 1, 15)`.execute(store.db);
      for (const { p, n } of rows) {
        const kid = sealedKeyId(p);
        out[kid] ??= {};
        (out[kid] as Record<string, number>)[`${spec.table}.${column}`] = Number(n);
      }
    }
  }
  return out;
}
