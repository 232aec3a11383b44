/**
 * `herald secrets rotate-key` with every process running (the built CLI, real processes):
 * processes given HERALD_SECRET_KEY=<new> and HERALD_OLD_SECRET_KEYS=<old> join first and
 * work beside an old-key process; the rotation re-seals everything while they keep
 * delivering; afterwards a process needs only the new key, and the old key alone is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_PATH } from '../../src/connectors/klaviyo/settings.js';
import { type Credentials, DATABASES, dropSchema, freshDatabaseEnv } from '../support/herald.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import { type HeraldProcess, createKeys, ensureBuilt, freePort, killAll, runCli, spawnHerald } from '../support/process.js';
import { type Receiver, ok, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { CONNECTIONS, SUBSCRIPTIONS, createHook, headerRecord, parcelIdOf, publish, sleep, waitUntil } from '../delivery/helpers.js';

const PROFILE = { email: 'rotation@example.com' };

describe.each(DATABASES)('key rotation without downtime on %s (built CLI)', (kind) => {
  const oldKey = randomBytes(32).toString('base64');
  const newKey = 'a passphrase as the new key, stretched with scrypt';
  let dataDir: string;
  let base: Record<string, string>;
  let receiver: Receiver;
  let fake: FakeKlaviyo;
  let org: Credentials;
  let hook: { connection: any; subscription: any };
  let signingSecret: string;
  let oldProcess: HeraldProcess;
  const withKeys = (secret: string, old?: string) => ({ ...base, HERALD_SECRET_KEY: secret, ...(old ? { HERALD_OLD_SECRET_KEYS: old } : {}) });
  /** The delivery of one parcel to the first hook (the second one listens on another path). */
  const delivered = (parcelId: number) =>
    waitUntil(`parcel ${parcelId}`, () => receiver.received.find((r) => r.path === '/hook' && parcelIdOf(r) === parcelId), 30_000);
  const secretVia = async (p: HeraldProcess, id: number) => {
    const res = await p.request('GET', `${CONNECTIONS}/${id}/secret`, { auth: org });
    expect(res.status, res.text).toBe(200);
    return res.body.data.secret as string;
  };

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-rotation-'));
    receiver = await startReceiver(ok);
    fake = await startFakeKlaviyo();
    const port = await freePort();
    fake.registeredRedirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;
    base = {
      ...freshDatabaseEnv(kind, dataDir),
      HERALD_DATA_DIR: dataDir,
      HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
      HERALD_RETRY_SCHEDULE: '100ms',
      HERALD_PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...fake.env(),
    };
    org = await createKeys(withKeys(oldKey), 'rotation');
    oldProcess = await spawnHerald({ name: 'old-key', env: withKeys(oldKey), port });

    // Something in every sealed column: auth, extra headers, signing secrets, OAuth tokens, a PKCE verifier.
    hook = await createHook(oldProcess, org, {
      url: receiver.url,
      auth_type: 'bearer',
      auth_config: { token: 'rotation-bearer' },
      extra_headers: { 'X-Api-Key': 'rotation-header' },
    });
    const rotated = await oldProcess.request('POST', `${CONNECTIONS}/${hook.connection.id}/secret/rotate`, { auth: org });
    signingSecret = rotated.body.data.secret;
    const klaviyo = await oldProcess.request('POST', CONNECTIONS, { auth: org, body: { type: 'klaviyo', configuration: {} } });
    await oldProcess.request('POST', SUBSCRIPTIONS, { auth: org, body: { connection_id: klaviyo.body.data.id, event_type: 'parcels.event.created' } });
    const start = await oldProcess.request('POST', `${CONNECTIONS}/${klaviyo.body.data.id}/authorization`, { auth: org });
    const page = await fetch(start.body.data.authorization_url, { redirect: 'follow' });
    expect(page.status, await page.text()).toBe(200);
    await oldProcess.request('POST', `${CONNECTIONS}/${klaviyo.body.data.id}/authorization`, { auth: org }); // a pending state
  });
  afterAll(async () => {
    await killAll();
    await receiver?.close();
    await fake?.close();
    if (base?.HERALD_DATABASE_SCHEMA) await dropSchema(base.HERALD_DATABASE_SCHEMA);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a process with the new key and the old one joins, and the old-key process keeps working beside it', async () => {
    const joined = await spawnHerald({ name: 'both-keys', env: withKeys(newKey, oldKey) });
    expect(await secretVia(joined, hook.connection.id)).toBe(signingSecret);
    // What the new process writes, the old one opens: it still seals under the old key.
    const made = await createHook(joined, org, { url: `${receiver.url}-made`, auth_type: 'bearer', auth_config: { token: 'made-by-joined' } });
    expect(await secretVia(oldProcess, made.connection.id)).toBe(await secretVia(joined, made.connection.id));
    await publish(oldProcess, org, { ...parcelEvent({ parcelId: 6001 }), profile: PROFILE });
    const got = await delivered(6001);
    expect(() => new Webhook(signingSecret).verify(got.body, headerRecord(got))).not.toThrow();
    await joined.kill();
  });

  it('rotates while processes with both keys keep delivering, then needs only the new key', async () => {
    oldProcess.signal('SIGTERM');
    await oldProcess.exited;
    const a = await spawnHerald({ name: 'a', env: withKeys(newKey, oldKey) });
    const b = await spawnHerald({ name: 'b', env: withKeys(newKey, oldKey) });
    const keyFile = join(dataDir, 'new.key');
    writeFileSync(keyFile, `${newKey}\n`, { mode: 0o600 });

    // Traffic through both processes for the whole rotation.
    let parcel = 6100;
    let rotating = true;
    const traffic = (async () => {
      while (rotating) {
        await publish(parcel % 2 === 0 ? a : b, org, { ...parcelEvent({ parcelId: parcel }), profile: PROFILE });
        parcel += 1;
        await sleep(100);
      }
    })();
    const rotation = await runCli(['secrets', 'rotate-key', '--new-key-file', keyFile, '--batch-size', '2'], withKeys(oldKey), 120_000);
    rotating = false;
    await traffic;
    expect(rotation.code, rotation.stderr).toBe(0);
    const summary = JSON.parse(rotation.stdout);
    expect(summary.resealed).toBeGreaterThanOrEqual(8);
    expect(summary.retired_key_ids).toHaveLength(1);

    // Every event sent during the rotation arrived, signed with the secret of before.
    for (let p = 6100; p < parcel; p++) {
      const got = await delivered(p);
      expect(got.headers.authorization).toBe('Bearer rotation-bearer');
      expect(got.headers['x-api-key']).toBe('rotation-header');
      expect(() => new Webhook(signingSecret).verify(got.body, headerRecord(got))).not.toThrow();
    }
    expect(fake.events.length).toBeGreaterThanOrEqual(parcel - 6100);

    const status = await runCli(['secrets', 'status'], withKeys(newKey));
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.sealing_key_id).toBe(summary.key_id);
    expect(report.accepted_key_ids).toEqual([summary.key_id]);
    expect(Object.keys(report.sealed_values)).toEqual([summary.key_id]);
    expect(Object.keys(report.sealed_values[summary.key_id]).sort()).toEqual(
      expect.arrayContaining(['connections.auth_sealed', 'connections.extra_headers_sealed', 'connections.oauth_sealed', 'connections.previous_secrets_sealed', 'connections.signing_secret_sealed', 'installation.webhook_id_salt_sealed', 'oauth_states.verifier_sealed']),
    );

    // Only the new key now: it starts, and reads and delivers everything.
    const fresh = await spawnHerald({ name: 'new-only', env: withKeys(newKey) });
    expect(await secretVia(fresh, hook.connection.id)).toBe(signingSecret);
    const events = fake.events.length;
    await a.kill();
    await b.kill();
    await publish(fresh, org, { ...parcelEvent({ parcelId: 6999 }), profile: PROFILE });
    expect((await delivered(6999)).headers.authorization).toBe('Bearer rotation-bearer');
    await fake.waitForEvents(events + 1);

    // The old key alone is retired: refused, with the way out.
    const old = await spawnHerald({ name: 'old-only', env: withKeys(oldKey), waitReady: false });
    expect((await old.exited).code, old.tail()).toBe(1);
    expect(old.stderr).toMatch(/HERALD_SECRET_KEY does not match/);
  });
});
