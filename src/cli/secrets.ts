import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { acceptedKeys, readInstallation, unlockKeys } from '../security/installation.js';
import { type KeySource, secretKeySources } from '../security/key-material.js';
import { type RotationSummary, rotateKey, sealedValueCounts } from '../security/key-rotation.js';
import { type OpenedDatabase, migrate, openDatabase } from '../store/database.js';
import { Store } from '../store/store.js';

export interface RotateOptions {
  /** The new key as text (HERALD_NEW_SECRET_KEY) or a file holding it (--new-key-file). */
  newKey: { text: string; origin: string } | { file: string };
  batchSize: number;
  settleMs: number;
}

async function withDatabase<T>(config: Config, fn: (database: OpenedDatabase) => Promise<T>): Promise<T> {
  const database = openDatabase(config.databaseUrl, config.databaseSchema);
  try {
    await migrate(database, config.databaseSchema);
    return await fn(database);
  } finally {
    await database.queue?.close();
    await database.db.destroy();
  }
}

/** `herald secrets rotate-key`: see security/key-rotation.ts; progress goes to stderr. */
export function rotateSecretKey(config: Config, options: RotateOptions): Promise<RotationSummary> {
  const source: KeySource =
    'file' in options.newKey
      ? { text: readFileSync(options.newKey.file, 'utf8').trim(), origin: `--new-key-file ${options.newKey.file}` }
      : { text: options.newKey.text, origin: options.newKey.origin };
  if (source.text === '') throw new Error(`${source.origin} is empty`);
  return withDatabase(config, async (database) => {
    // The new key counts as held: a rotation that stopped half-way lists it already.
    const sources = [...secretKeySources(config.secretKey, config.oldSecretKeys, config.dataDir), source];
    const keyring = await unlockKeys(database.db, sources);
    return rotateKey(Store.of(database), keyring, source, {
      batchSize: options.batchSize,
      settleMs: options.settleMs,
      pauseMs: 5,
      log: (message, fields) => process.stderr.write(`${JSON.stringify({ msg: message, ...fields })}\n`),
    });
  });
}

/** `herald secrets status`: the installation's keys and how many values each one seals. */
export function secretsStatus(config: Config): Promise<Record<string, unknown>> {
  return withDatabase(config, async (database) => {
    await unlockKeys(database.db, secretKeySources(config.secretKey, config.oldSecretKeys, config.dataDir));
    const row = await readInstallation(database.db);
    return {
      installation_id: row?.installation_id,
      sealing_key_id: row?.primary_kid,
      accepted_key_ids: row ? acceptedKeys(row).map((k) => k.kid) : [],
      sealed_values: await sealedValueCounts(Store.of(database)),
    };
  });
}
