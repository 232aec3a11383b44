/**
 * The operator's commands of the built CLI, on the database directly: one JSON value on
 * stdout; on failure one line on stderr and a non-zero exit (2 for wrong usage). A running
 * Herald (this process, with workers) on the same database delivers what `events send`
 * publishes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHook, parcelIdOf, waitUntil } from '../delivery/helpers.js';
import { parcelEvent } from '../support/events.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { ensureBuilt, runCli } from '../support/process.js';
import { type Receiver, startReceiver } from '../support/receiver.js';

const COMMANDS = ['serve', 'migrate', 'orgs', 'keys', 'events', 'status', 'prune', 'secrets'];

describe.each(DATABASES)('operator commands on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  const herald = (args: string[], extra: Record<string, string> = {}) => runCli(args, { ...h.env, ...extra });
  /** A command that must succeed: its parsed stdout. */
  const ok = async (args: string[], extra: Record<string, string> = {}) => {
    const res = await herald(args, extra);
    expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
    expect(res.stdout.trim().split('\n'), 'one line of JSON').toHaveLength(1);
    return JSON.parse(res.stdout);
  };
  /** A command that must fail with this exit code and one line on stderr matching `message`. */
  const fails = async (args: string[], code: number, message: RegExp) => {
    const res = await herald(args);
    expect(res.code, `${args.join(' ')}: ${res.stdout}`).toBe(code);
    expect(res.stdout).toBe('');
    expect(res.stderr.trimEnd().split('\n'), res.stderr).toHaveLength(1);
    expect(res.stderr).toMatch(/^herald: /);
    expect(res.stderr).toMatch(message);
    return res.stderr;
  };

  beforeAll(async () => {
    ensureBuilt();
    h = await startHerald(kind, { HERALD_POLL_INTERVAL_MS: '50' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('prints usage for --help, help and every command, and refuses unknown commands', async () => {
    const all = await herald(['--help']);
    expect(all.code).toBe(0);
    for (const c of COMMANDS) expect(all.stdout).toContain(`herald ${c}`);
    expect((await herald(['help', 'orgs'])).stdout).toMatch(/^usage:\n {2}herald orgs create/);
    for (const c of COMMANDS) {
      const res = await herald([c, '--help']);
      expect(res.code, c).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^usage:\\n  herald ${c}`));
    }
    expect((await herald(['keys', 'create', '--help'])).stdout).toContain('herald keys revoke');
    await fails(['frobnicate'], 2, /unknown command "frobnicate"/);
    await fails(['orgs', 'create', '--bogus', 'x'], 2, /--bogus/);
    const none = await herald([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage:');
  });

  it('orgs create, list (with --external-id), update and their errors', async () => {
    const org = await ok(['orgs', 'create', '--name', 'Acme CLI', '--external-id', `cli-${kind}`]);
    expect(org).toMatchObject({ id: expect.any(Number), name: 'Acme CLI', external_id: `cli-${kind}`, status: 'active' });
    await fails(['orgs', 'create', '--name', 'Again', '--external-id', `cli-${kind}`], 1, /external_id: An organization with external_id "cli-.*" already exists\./);
    await fails(['orgs', 'create'], 2, /orgs create needs --name/);
    await fails(['orgs', 'create', '--name', ''], 1, /\/name: This field may not be blank\./);
    const plain = await ok(['orgs', 'create', '--name', 'Plain']);
    const list = await ok(['orgs', 'list']);
    expect(list.map((o: { id: number }) => o.id)).toEqual(expect.arrayContaining([org.id, plain.id]));
    expect(await ok(['orgs', 'list', '--external-id', `cli-${kind}`])).toEqual([org]);
    const suspended = await ok(['orgs', 'update', String(org.id), '--status', 'suspended']);
    expect(suspended.status).toBe('suspended');
    const renamed = await ok(['orgs', 'update', String(org.id), '--name', 'Acme Renamed', '--status', 'active']);
    expect(renamed).toMatchObject({ name: 'Acme Renamed', status: 'active' });
    await fails(['orgs', 'update', String(org.id), '--status', 'gone'], 2, /--status must be active or suspended/);
    await fails(['orgs', 'update', '999999', '--name', 'x'], 1, /No organization has the id 999999\./);
    await fails(['orgs', 'update', 'abc', '--name', 'x'], 2, /the organization id/);
  });

  it('keys create (by id, by name, creating a new name), list and revoke', async () => {
    const org = await ok(['orgs', 'create', '--name', `Keys ${kind}`]);
    const byId = await ok(['keys', 'create', '--org', String(org.id), '--description', 'ci']);
    expect(byId).toMatchObject({ organization_id: org.id, description: 'ci', secret_key: expect.stringMatching(/^sk_/), last_used_at: null });
    const byName = await ok(['keys', 'create', '--org', `Keys ${kind}`]);
    expect(byName.organization_id).toBe(org.id);
    const fresh = await ok(['keys', 'create', '--org', `brand-new-${kind}`]);
    expect(fresh.organization_id).not.toBe(org.id);
    expect((await ok(['orgs', 'list'])).find((o: { id: number }) => o.id === fresh.organization_id).name).toBe(`brand-new-${kind}`);
    // The key works on the running API.
    const basic = `Basic ${Buffer.from(`${byId.public_key}:${byId.secret_key}`).toString('base64')}`;
    expect((await h.request('GET', '/api/v3/event-subscriptions/connections', { auth: basic })).status).toBe(200);

    const listed = await ok(['keys', 'list', '--org', String(org.id)]);
    expect(listed.map((k: { id: number }) => k.id)).toEqual([byId.id, byName.id]);
    for (const k of listed) expect(k).not.toHaveProperty('secret_key');
    expect(JSON.stringify(listed)).not.toContain(byId.secret_key);

    await fails(['keys', 'create', '--org', String(org.id), '--expires-at', '2001-01-01T00:00:00Z'], 1, /expires_at: The expiry must be in the future\./);
    await fails(['keys', 'create', '--org', String(org.id), '--expires-at', 'soon'], 2, /--expires-at must be an ISO 8601 time/);
    await fails(['keys', 'list', '--org', 'nobody-has-this-name'], 1, /No organization has the id or name "nobody-has-this-name"\./);
    await ok(['orgs', 'create', '--name', 'Twin']);
    await ok(['orgs', 'create', '--name', 'Twin']);
    await fails(['keys', 'create', '--org', 'Twin'], 1, /Several organizations are named "Twin" \(ids \d+, \d+\); give the id instead\./);

    expect(await ok(['keys', 'revoke', String(byId.id)])).toEqual({ revoked: byId.id, organization_id: org.id });
    expect((await h.request('GET', '/api/v3/event-subscriptions/connections', { auth: basic })).status).toBe(401);
    await fails(['keys', 'revoke', String(byId.id)], 1, new RegExp(`No API key has the id ${byId.id}\\.`));
    await fails(['keys', 'revoke'], 2, /keys revoke needs the key id/);
    expect((await ok(['keys', 'list', '--org', String(org.id)])).map((k: { id: number }) => k.id)).toEqual([byName.id]);
  });

  it('events send (--sample, --file with one event or a batch, --idempotency-key) reaches the subscriptions', async () => {
    const key = await ok(['keys', 'create', '--org', `sender-${kind}`]);
    const credentials = { ...key, basic: `Basic ${Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64')}` };
    await createHook(h, credentials, { url: receiver.url });
    const org = String(key.organization_id);
    const before = receiver.received.length;

    const sample = await ok(['events', 'send', '--org', org, '--sample', 'parcels.event.created']);
    expect(sample).toEqual([{ id: expect.any(Number), event_type: 'parcels.event.created', created_at: expect.any(String), deliveries: 1 }]);
    const one = join(h.dataDir, 'one.json');
    writeFileSync(one, JSON.stringify(parcelEvent({ parcelId: 8001 })));
    const single = await ok(['events', 'send', '--org', org, '--file', one, '--idempotency-key', 'cli-1']);
    expect(single).toHaveLength(1);
    expect(await ok(['events', 'send', '--org', org, '--file', one, '--idempotency-key', 'cli-1'])).toEqual(single);
    const batch = join(h.dataDir, 'batch.json');
    writeFileSync(batch, JSON.stringify({ events: [parcelEvent({ parcelId: 8002 }), parcelEvent({ parcelId: 8003 })] }));
    expect(await ok(['events', 'send', '--org', org, '--file', batch])).toHaveLength(2);

    await receiver.waitFor(before + 4);
    const ids = receiver.received.slice(before).map(parcelIdOf);
    expect(ids).toEqual(expect.arrayContaining([8001, 8002, 8003]));
    expect(ids).toHaveLength(4);

    const bad = join(h.dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ event_type: 'parcels.event.created', data: { parcel: {} } }));
    await fails(['events', 'send', '--org', org, '--file', bad], 1, /\/data\/parcel/);
    writeFileSync(bad, '{"event_type":');
    await fails(['events', 'send', '--org', org, '--file', bad], 1, /is not JSON/);
    writeFileSync(bad, JSON.stringify({ ...parcelEvent(), extra: true }));
    await fails(['events', 'send', '--org', org, '--file', bad], 1, /\/extra/);
    writeFileSync(one, JSON.stringify(parcelEvent({ parcelId: 8009 })));
    await fails(['events', 'send', '--org', org, '--file', one, '--idempotency-key', 'cli-1'], 1, /Idempotency-Key: Idempotency-Key "cli-1" was already used/);
    await fails(['events', 'send', '--org', org, '--sample', 'no.such'], 1, /"no\.such" is not an event type/);
    await fails(['events', 'send', '--org', org], 2, /exactly one of --file/);
    await fails(['events', 'send', '--org', org, '--file', one, '--sample', 'parcels.event.created'], 2, /exactly one of --file/);
    await fails(['events', 'send', '--org', org, '--file', join(h.dataDir, 'missing.json')], 1, /ENOENT/);
    await waitUntil('nothing more to arrive', async () => receiver.received.length === before + 4);
  });

  it('status prints the stats; prune removes what is older than HERALD_RETENTION', async () => {
    const stats = await ok(['status']);
    expect(Object.keys(stats).sort()).toEqual(
      ['connections', 'failed_last_hour', 'generated_at', 'oldest_pending_age_seconds', 'organizations', 'parked_deliveries', 'pending_deliveries', 'succeeded_last_hour'].sort(),
    );
    expect(stats.organizations).toBeGreaterThan(3);
    expect(stats.connections).toBeGreaterThanOrEqual(1);
    const kept = await ok(['prune']);
    expect(kept).toMatchObject({ retention_seconds: 30 * 86_400, removed: { events: 0, deliveries: 0, attempts: 0 }, skipped: false });
    // Everything delivered so far is older than a second.
    await waitUntil('the deliveries to finish', async () => (await ok(['status'])).pending_deliveries === 0);
    await new Promise((r) => setTimeout(r, 1100));
    const pruned = await ok(['prune'], { HERALD_RETENTION: '1s' });
    expect(pruned.retention_seconds).toBe(1);
    // The four events `events send` published, each with its one delivery and attempt.
    expect(pruned.removed).toMatchObject({ events: 4, deliveries: 4, attempts: 4 });
    if (kind === 'sqlite') expect(pruned.bytes_released).toBe(pruned.pages_released * 4096);
    else expect(pruned.pages_released).toBe(0);
    const again = await ok(['prune'], { HERALD_RETENTION: '1s' });
    expect(again.removed).toEqual({ events: 0, deliveries: 0, attempts: 0, test_attempts: 0, delivery_outcomes: 0, connection_outcomes: 0 });
  });

  it('orgs delete removes the organization and its rows', async () => {
    const key = await ok(['keys', 'create', '--org', `doomed-${kind}`]);
    await ok(['events', 'send', '--org', String(key.organization_id), '--sample', 'email.sent']);
    const res = await ok(['orgs', 'delete', String(key.organization_id)]);
    expect(res).toEqual({
      deleted: key.organization_id,
      removed: { api_keys: 1, attempts: 0, deliveries: 0, events: 1, idempotency_keys: 0, subscriptions: 0, connections: 0, organizations: 1 },
    });
    await fails(['orgs', 'delete', String(key.organization_id)], 1, /No organization has the id/);
    await fails(['orgs', 'delete'], 2, /orgs delete needs the organization id/);
    expect((await ok(['orgs', 'list'])).some((o: { id: number }) => o.id === key.organization_id)).toBe(false);
  });

  it('a bad setting is one line too', async () => {
    const res = await herald(['status'], { HERALD_RETENTION: 'forever' });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('herald: HERALD_RETENTION must be a duration such as 30d, 12h or 10s, got "forever"\n');
  });
});
