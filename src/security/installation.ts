import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, InstallationTable } from '../store/schema.js';
import { type DerivedKey, type KeySource, deriveKey, secretKeySources } from './key-material.js';
import { Sealer, type SealedAt, opensAsLegacy } from './sealer.js';

/** The installation table has this one row. */
export const INSTALLATION_ROW = 1;
/** How often a running process re-reads the installation row to follow a key rotation. */
export const KEY_REFRESH_MS = 5_000;
export const WEBHOOK_ID_SALT_AT: SealedAt = { table: 'installation', column: 'webhook_id_salt_sealed', row: INSTALLATION_ROW };

/** A key the installation row lists: sealed values may be under it. */
export interface AcceptedKey {
  kid: string;
  check: string;
}

/** The process was given a key that does not fit the database: it must not start. */
export class KeyMismatchError extends Error {
  readonly code = 'HERALD_KEY_MISMATCH';
}

export interface Keyring {
  sealer: Sealer;
  /** Random per database. */
  installationId: string;
  salt: Buffer;
  /** The secret `webhook-id`s are derived from (see delivery/message-id.ts). */
  webhookIdSalt: string;
  /** Every key this process derived, whether the database lists it or not. */
  keys: DerivedKey[];
}

type Db = Kysely<Database>;

export function readInstallation(db: Db): Promise<InstallationTable | undefined> {
  return db.selectFrom('installation').selectAll().where('id', '=', INSTALLATION_ROW).executeTakeFirst();
}

export function acceptedKeys(row: Pick<InstallationTable, 'keys'>): AcceptedKey[] {
  return JSON.parse(row.keys) as AcceptedKey[];
}

/**
 * Ties this process's keys to the database. The first process to start writes the
 * installation row: a random installation id, the key-derivation salt, and a check value (an
 * HMAC of a fixed label, never the key) of its key. Every later process derives its keys with
 * that salt and must hold every key the row lists, or it refuses to start: a process with
 * another key would otherwise fail on every secret, forever, while looking healthy.
 */
export async function unlockKeys(db: Db, sources: KeySource[]): Promise<Keyring> {
  let row = await readInstallation(db);
  if (!row) {
    await createInstallation(db, sources);
    row = (await readInstallation(db)) as InstallationTable;
  }
  const salt = Buffer.from(row.kdf_salt, 'base64url');
  const derived = await Promise.all(sources.map((s) => deriveKey(s, salt)));
  const accepted = acceptedKeys(row);
  const missing = accepted.filter((a) => !derived.some((d) => d.kid === a.kid && d.check === a.check));
  if (missing.length > 0) throw mismatch(sources, derived, accepted, missing);
  const sealer = new Sealer(derived, row.primary_kid);
  return {
    sealer,
    installationId: row.installation_id,
    salt,
    webhookIdSalt: sealer.open(row.webhook_id_salt_sealed, WEBHOOK_ID_SALT_AT),
    keys: derived,
  };
}

/**
 * Follows `herald secrets rotate-key` while running: seals under the key the row names once
 * it switches, and says so loudly if the row lists a key this process was not given.
 */
export function watchInstallation(db: Db, sealer: Sealer, logger: Logger): () => void {
  let reported = '';
  const timer = setInterval(() => {
    readInstallation(db).then(
      (row) => {
        if (!row) return;
        if (row.primary_kid !== sealer.primaryKid && sealer.usePrimary(row.primary_kid)) {
          logger.info({ key_id: row.primary_kid }, 'sealing new secrets under the rotated-in key');
        }
        const lacking = acceptedKeys(row).filter((k) => !sealer.holds(k.kid)).map((k) => k.kid);
        const now = lacking.join(',');
        if (now !== '' && now !== reported) {
          logger.error(
            { missing_key_ids: lacking },
            'the database now lists a secret key this process was not given (a key rotation started before every ' +
              'process had the new key): restart this process with HERALD_SECRET_KEY=<new key> and ' +
              'HERALD_OLD_SECRET_KEYS=<old key>; secrets sealed under the new key cannot be opened here',
          );
        }
        reported = now;
      },
      (error: unknown) => logger.debug({ err: error }, 'reading the installation row failed; trying again'),
    );
  }, KEY_REFRESH_MS);
  timer.unref();
  return () => clearInterval(timer);
}

async function createInstallation(db: Db, sources: KeySource[]): Promise<void> {
  const salt = randomBytes(16);
  const derived = await Promise.all(sources.map((s) => deriveKey(s, salt)));
  let key = derived[0] as DerivedKey;
  const legacy = await legacySample(db);
  if (legacy?.startsWith('v2.')) {
    throw new KeyMismatchError(
      'the database holds secrets sealed under a key id but has no installation row (it was deleted?): ' +
        'restore the installation table from a backup; without its salt these secrets cannot be opened',
    );
  }
  if (legacy) {
    // A database from before key checks: its key is whichever of ours opens what it holds.
    const opener = derived.find((d) => opensAsLegacy(legacy, d.legacyKey));
    if (!opener) throw mismatch(sources, derived, [], []);
    key = opener;
  }
  // An upgraded database keeps the webhook-ids its pending retries already carry; a new one
  // (even with a reused key) gets a random secret, so its ids never repeat an old database's.
  const hasDeliveries = (await db.selectFrom('deliveries').select('id').limit(1).executeTakeFirst()) !== undefined;
  const webhookIdSalt = hasDeliveries
    ? createHmac('sha256', key.legacyKey).update('herald:webhook-id').digest('hex')
    : randomBytes(32).toString('hex');
  const now = Date.now();
  await db
    .insertInto('installation')
    .values({
      id: INSTALLATION_ROW,
      installation_id: randomBytes(16).toString('base64url'),
      kdf_salt: salt.toString('base64url'),
      keys: JSON.stringify([{ kid: key.kid, check: key.check }] satisfies AcceptedKey[]),
      primary_kid: key.kid,
      webhook_id_salt_sealed: new Sealer([key], key.kid).seal(webhookIdSalt, WEBHOOK_ID_SALT_AT),
      created_at: now,
      updated_at: now,
    })
    // Two processes starting at once: one row wins and the other checks its key against it.
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** One sealed value already in the database, if any. */
async function legacySample(db: Db): Promise<string | undefined> {
  const connection = await db.selectFrom('connections').select('signing_secret_sealed as v').limit(1).executeTakeFirst();
  if (connection) return connection.v;
  const state = await db.selectFrom('oauth_states').select('verifier_sealed as v').limit(1).executeTakeFirst();
  return state?.v;
}

function mismatch(sources: KeySource[], derived: DerivedKey[], accepted: AcceptedKey[], missing: AcceptedKey[]): KeyMismatchError {
  const given = sources[0] as KeySource;
  const needs = missing.length > 0 ? ` (key id ${missing.map((k) => k.kid).join(', ')})` : '';
  const has = derived.map((d) => d.kid).join(', ');
  const fix =
    'Every process that uses one database must be given the same key: set the same HERALD_SECRET_KEY in every process, then start this one again.';
  if (given.keyFile) {
    return new KeyMismatchError(
      `HERALD_SECRET_KEY is not set, so this process uses ${given.origin} (key id ${has}), which is not the key ` +
        `this database's secrets are sealed with${needs}. A key file is made per data folder, so processes on ` +
        `different folders or machines (as with PostgreSQL) each make their own. ${fix} For example, use the ` +
        'contents of the secret.key file of the process that set up this database.',
    );
  }
  const rotating =
    accepted.length > 1
      ? ' A key rotation is in progress: give the new key as HERALD_SECRET_KEY and the old one in HERALD_OLD_SECRET_KEYS.'
      : ' During a key rotation, give the old key in HERALD_OLD_SECRET_KEYS as well.';
  return new KeyMismatchError(
    `HERALD_SECRET_KEY does not match the key this database's secrets are sealed with${needs}; this process has ` +
      `key id ${has}. ${fix}${rotating}`,
  );
}

/**
 * The keyring of a process on an opened database; a refusal closes the database first, so
 * that the process exits (SQLite's queue thread would keep it alive) with the reason.
 */
export async function openKeyring(
  database: { db: Db; queue?: { close(): Promise<void> } },
  config: { secretKey: string | undefined; oldSecretKeys: string[]; dataDir: string },
): Promise<Keyring> {
  try {
    return await unlockKeys(database.db, secretKeySources(config.secretKey, config.oldSecretKeys, config.dataDir));
  } catch (error) {
    await database.queue?.close();
    await database.db.destroy();
    throw error;
  }
}
