/**
 * A database from before key checks (migration 0005): `v1.` sealed values without key id or
 * binding, one rotated-out secret in `previous_secret_sealed`, `extra_headers` in the clear.
 * It keeps working with its key, refuses another key, keeps the webhook-ids its pending
 * deliveries already carry, and `herald secrets rotate-key` moves it all to the new format.
 */
import { createCipheriv, createHmac, hash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { type Herald, createHerald } from '../../src/herald.js';
import { createLogger } from '../../src/observability/logger.js';
import { KeyMismatchError } from '../../src/security/installation.js';
import { connectionColumn } from '../../src/security/sealed-columns.js';
import { type Credentials, DATABASES, apiRequest, dropSchema, freshDatabaseEnv } from '../support/herald.js';
import { ensureBuilt, runCli } from '../support/process.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { CONNECTIONS, createHook, headerRecord, parcelIdOf, publish, waitUntil } from '../delivery/helpers.js';

/** How Herald sealed before 0005: AES-256-GCM under the raw key, `v1.<iv>.<tag>.<ct>`. */
function sealV1(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

describe.each(DATABASES)('upgrading a database from before key checks on %s', (kind) => {
  const rawKey = randomBytes(32);
  const newKey = randomBytes(32).toString('hex');
  let dataDir: string;
  let env: Record<string, string>;
  let receiver: Receiver;
  let running: { herald: Herald; app: FastifyInstance; baseUrl: string } | undefined;
  let org: Credentials;
  let connectionId: number;
  let secrets: { current: string; previous: string };

  const open = async (overrides: Record<string, string>, workers: boolean) => {
    const config = loadConfig({ ...env, ...overrides });
    const herald = await createHerald(config, createLogger('silent'), { workers });
    const app = await buildApp(herald);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    running = { herald, app, baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
    return running;
  };
  const close = async () => {
    await running?.app.close();
    await running?.herald.close();
    running = undefined;
  };
  const api = { request: (method: string, path: string, options = {}) => apiRequest((running as { baseUrl: string }).baseUrl, method, path, options) };

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-upgrade-'));
    env = {
      ...freshDatabaseEnv(kind, dataDir),
      HERALD_DATA_DIR: dataDir,
      HERALD_SECRET_KEY: rawKey.toString('base64'),
      HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
      HERALD_LOG_LEVEL: 'silent',
      HERALD_RETRY_SCHEDULE: '100ms',
    };
    receiver = await startReceiver(ok);

    // The data, made through the API without workers: one delivery stays pending.
    const { herald } = await open({}, false);
    const key = await herald.auth.createKey('upgrade');
    org = { ...key, basic: `Basic ${Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64')}` };
    const hook = await createHook(api, org, {
      url: receiver.url,
      auth_type: 'bearer',
      auth_config: { token: 'old-bearer-token' },
      extra_headers: { 'X-Api-Key': 'old-header-key', 'X-Tenant': 'acme' },
    });
    connectionId = hook.connection.id;
    const previous = (await api.request('GET', `${CONNECTIONS}/${connectionId}/secret`, { auth: org })).body.data.secret;
    const rotated = await api.request('POST', `${CONNECTIONS}/${connectionId}/secret/rotate`, { auth: org });
    secrets = { current: rotated.body.data.secret, previous };
    await publish(api, org, parcelEvent({ parcelId: 5001 }));

    // … rewritten as the previous release stored it.
    const row = await herald.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow();
    const config = JSON.parse(row.config) as Record<string, unknown>;
    delete config.extra_header_names;
    config.extra_headers = { 'X-Api-Key': 'old-header-key', 'X-Tenant': 'acme' };
    await herald.store.db
      .updateTable('connections')
      .set({
        config: JSON.stringify(config),
        extra_headers_sealed: null,
        auth_sealed: sealV1(rawKey, JSON.stringify({ token: 'old-bearer-token' })),
        signing_secret_sealed: sealV1(rawKey, secrets.current),
        previous_secret_sealed: sealV1(rawKey, secrets.previous),
        previous_secrets_sealed: null,
        previous_secret_expires_at: Date.now() + 3_600_000,
      })
      .where('id', '=', connectionId)
      .execute();
    await herald.store.db.deleteFrom('installation').execute();
    await close();
  });
  afterAll(async () => {
    await close();
    await receiver?.close();
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses another key on the old data, without claiming the database for it', async () => {
    const config = loadConfig({ ...env, HERALD_SECRET_KEY: randomBytes(32).toString('base64') });
    await expect(createHerald(config, createLogger('silent'), { workers: false })).rejects.toThrow(KeyMismatchError);
    await expect(createHerald(config, createLogger('silent'), { workers: false })).rejects.toThrow(/HERALD_SECRET_KEY does not match/);
  });

  it('opens the old values with its key and delivers with the webhook-id the delivery had before', async () => {
    const { herald } = await open({}, true);
    const got = await waitUntil('the pending delivery', () => receiver.received.find((r) => parcelIdOf(r) === 5001));
    expect(got.headers.authorization).toBe('Bearer old-bearer-token');
    expect(got.headers['x-api-key']).toBe('old-header-key');
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const s of [secrets.current, secrets.previous]) expect(() => new Webhook(s).verify(got.body, headerRecord(got))).not.toThrow();
    // The formula of the previous release, so that a retry after the upgrade is still recognised.
    const legacySalt = createHmac('sha256', rawKey).update('herald:webhook-id').digest('hex');
    expect(got.headers['webhook-id']).toBe(`msg_${hash('sha256', `${legacySalt}:1`, 'base64url').slice(0, 24)}`);
    expect(herald.keyring.webhookIdSalt).toBe(legacySalt);
    const secret = await api.request('GET', `${CONNECTIONS}/${connectionId}/secret`, { auth: org });
    expect(secret.body.data.secret).toBe(secrets.current);
    await close();
  });

  it('rotate-key rewrites every old value under the new key, and a process with only the new key reads them', async () => {
    const rotated = await runCli(['secrets', 'rotate-key', '--settle-seconds', '0'], { ...env, HERALD_NEW_SECRET_KEY: newKey, HERALD_LOG_LEVEL: 'silent' }, 60_000);
    expect(rotated.code, rotated.stderr).toBe(0);
    const summary = JSON.parse(rotated.stdout);
    expect(summary.resealed).toBeGreaterThanOrEqual(5); // auth, secret, previous, extra headers, webhook-id salt

    const status = await runCli(['secrets', 'status'], { ...env, HERALD_SECRET_KEY: newKey });
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.accepted_key_ids).toEqual([summary.key_id]);
    expect(Object.keys(report.sealed_values)).toEqual([summary.key_id]);

    const { herald } = await open({ HERALD_SECRET_KEY: newKey }, true);
    const row = await herald.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow();
    expect(JSON.parse(row.config).extra_headers).toBeUndefined();
    expect(herald.sealer.openJson(row.extra_headers_sealed as string, connectionColumn('extra_headers_sealed', connectionId))).toEqual({
      'X-Api-Key': 'old-header-key',
      'X-Tenant': 'acme',
    });
    for (const value of [row.auth_sealed, row.signing_secret_sealed, row.previous_secret_sealed]) {
      expect(value).toMatch(new RegExp(`^v2\\.${summary.key_id}\\.`));
    }
    await publish(api, org, parcelEvent({ parcelId: 5002 }));
    const got = await waitUntil('a delivery under the new key', () => receiver.received.find((r) => parcelIdOf(r) === 5002));
    expect(got.headers.authorization).toBe('Bearer old-bearer-token');
    expect(got.headers['x-api-key']).toBe('old-header-key');
    expect(() => new Webhook(secrets.current).verify(got.body, headerRecord(got))).not.toThrow();
    await close();

    // The old key is retired: a process given only that one refuses to start.
    await expect(createHerald(loadConfig(env), createLogger('silent'), { workers: false })).rejects.toThrow(/HERALD_SECRET_KEY does not match/);
  });
});
