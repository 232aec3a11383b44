import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockedRange } from '../../src/security/network-guard.js';
import { type Credentials, DATABASES, type TestHerald, dropSchema, freshDatabaseEnv, startHerald } from '../support/herald.js';
import { createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { ATTEMPTS, DELIVERIES, ES, createHook, listAll, publish, sleep, waitForStatus, waitUntil } from './helpers.js';

const BROADCAST = `${ES}/broadcast/test`;

/** All an API client learns of a refused address: that the name is not public. */
const refused = (host: string) => `${host} resolves to a non-public address; deliveries to non-public networks are refused`;

describe('network guard ranges', () => {
  it('refuses IPv6 forms that carry a non-public IPv4 address', () => {
    for (const address of [
      '::7f00:1', // IPv4-compatible ::127.0.0.1, which ipaddr.js calls unicast
      '::a00:1',
      '::ffff:7f00:1', // IPv4-mapped
      '::ffff:a9fe:a9fe', // mapped 169.254.169.254
      '::ffff:0:a00:1', // IPv4-translated (RFC 6145)
      '64:ff9b::7f00:1', // NAT64 to 127.0.0.1
      '64:ff9b::a00:1', // NAT64 to 10.0.0.1
      '64:ff9b::a9fe:a9fe', // NAT64 to the metadata address
      '2002:7f00:1::1', // 6to4 of 127.0.0.1
      '2002:c0a8:101::1', // 6to4 of 192.168.1.1
      '2002:6440:1::1', // 6to4 of CGNAT 100.64.0.1
    ]) {
      expect(blockedRange(address), address).toBeDefined();
    }
    expect(blockedRange('::7f00:1')).toMatch(/^loopback \(IPv4 127\.0\.0\.1/);
    expect(blockedRange('64:ff9b::a00:1')).toMatch(/^private \(IPv4 10\.0\.0\.1/);
  });

  it('lets the public forms through, and still refuses the plain non-public ranges', () => {
    for (const address of ['8.8.8.8', '2606:4700::1111', '::ffff:808:808', '64:ff9b::808:808', '2002:808:808::1']) {
      expect(blockedRange(address), address).toBeUndefined();
    }
    for (const address of ['127.0.0.1', '10.1.2.3', '100.64.0.1', '169.254.169.254', '0.0.0.0', '::', '::1', 'fe80::1', 'fc00::1']) {
      expect(blockedRange(address), address).toBeDefined();
    }
  });
});

describe.each(DATABASES)('network guard on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  let org: Credentials;

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms', HERALD_ALLOW_PRIVATE_NETWORKS: 'false' });
    org = await h.createOrg();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  const deliverTo = async (url: string) => {
    const { subscription } = await createHook(h, org, { url, retry_attempts: 3 });
    await publish(h, org, parcelEvent());
    const d = await waitUntil('the delivery row', async () => (await listAll(h, org, DELIVERIES, { subscription_id: subscription.id }))[0]);
    const failed = await waitForStatus(h, org, d.id, 'failed');
    // Refused for good: no retries of a blocked address.
    expect(failed.attempt_count).toBe(1);
    expect(failed.attempts).toHaveLength(1);
    const [attempt] = failed.attempts;
    expect(attempt.response_status).toBeNull();
    expect(attempt.url).toBe(url);
    return { subscription, delivery: failed, attempt };
  };

  it('refuses a delivery to 127.0.0.1 and records why', async () => {
    const { delivery, attempt } = await deliverTo(receiver.url);
    expect(attempt.error).toBe(refused('127.0.0.1'));
    expect(delivery.last_error).toBe(refused('127.0.0.1'));
    await sleep(300);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a delivery to localhost after resolving it', async () => {
    const { attempt } = await deliverTo(`http://localhost:${receiver.port}/hook`);
    // What localhost resolves to stays in the operator's log: the API is no DNS oracle.
    expect(attempt.error).toBe(refused('localhost'));
    expect(attempt.error).not.toMatch(/127\.0\.0\.1|::1|loopback/);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a broadcast test to loopback, private and metadata addresses', async () => {
    for (const [url, host] of [
      [receiver.url, '127.0.0.1'],
      [`http://localhost:${receiver.port}/hook`, 'localhost'],
      [`http://[::1]:${receiver.port}/hook`, '[::1]'],
      [`http://[::ffff:127.0.0.1]:${receiver.port}/hook`, '[::ffff:7f00:1]'],
      [`http://0.0.0.0:${receiver.port}/hook`, '0.0.0.0'],
      ['http://10.1.2.3/hook', '10.1.2.3'],
      ['http://169.254.169.254/latest/meta-data', '169.254.169.254'],
      // IPv6 forms that carry a loopback or private IPv4 address.
      [`http://[::7f00:1]:${receiver.port}/hook`, '[::7f00:1]'],
      [`http://[::127.0.0.1]:${receiver.port}/hook`, '[::7f00:1]'],
      [`http://[64:ff9b::7f00:1]:${receiver.port}/hook`, '[64:ff9b::7f00:1]'],
      ['http://[64:ff9b::a9fe:a9fe]/latest/meta-data', '[64:ff9b::a9fe:a9fe]'],
      [`http://[2002:7f00:1::1]:${receiver.port}/hook`, '[2002:7f00:1::1]'],
    ] as const) {
      const { subscription } = await createHook(h, org, { url });
      const res = await h.request('POST', `${BROADCAST}/${subscription.id}`, { auth: org });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.success, url).toBe(false);
      expect(res.body.data.status_code, url).toBe(0);
      expect(res.body.data.response_body, url).toBe(refused(host));
      const attempts = await listAll(h, org, ATTEMPTS, { is_test: 'true', subscription_id: subscription.id });
      expect(attempts).toHaveLength(1);
      expect(attempts[0].error).toBe(refused(host));
    }
    expect(receiver.received).toHaveLength(0);
  });
});

describe.each(DATABASES)('network guard log on %s (built CLI)', (kind) => {
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-guard-log-'));
    env = { ...freshDatabaseEnv(kind, dataDir), HERALD_DATA_DIR: dataDir, HERALD_ALLOW_PRIVATE_NETWORKS: 'false' };
  });
  afterAll(async () => {
    await killAll();
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('tells the client only the host, and logs the address it resolved to', async () => {
    const org = await createKeys(env, 'guard-log');
    const proc = await spawnHerald({ env, name: 'guard-log' });
    const { subscription } = await createHook(proc, org, { url: 'http://localhost:9/hook' });
    const res = await proc.request('POST', `${BROADCAST}/${subscription.id}`, { auth: org });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.response_body).toBe(refused('localhost'));
    const line = await waitUntil('the refusal in the log', () => proc.logs.find((l) => l.msg === 'refused a request to a non-public address'));
    expect(line).toMatchObject({ level: 40, host: 'localhost', range: 'loopback' });
    expect(['127.0.0.1', '::1']).toContain(line.address);
  });
});
