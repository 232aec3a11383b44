/**
 * The quickstart, as a user runs it: the built CLI (`node dist/cli/main.js`, made by
 * `npm run build`) creates a key pair, serves the API, and the reference documentation's
 * curl example for creating a connection is run with real curl against it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, dropSchema, freshDatabaseEnv } from '../support/herald.js';
import { freePort } from '../support/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const EXAMPLE = readFileSync(join(ROOT, 'test/fixtures/sendcloud-create-connection.txt'), 'utf8');

/** The curl command of the example: from `curl` to the end of its (quoted, continued) last line. */
function curlCommand(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('curl '));
  if (start < 0) throw new Error('no curl command in the example');
  const out: string[] = [];
  for (const line of lines.slice(start)) {
    out.push(line);
    const quotes = (out.join('\n').match(/'/g) ?? []).length;
    if (quotes % 2 === 0 && !line.endsWith('\\')) break;
  }
  return out.join('\n');
}

/** The documented answer: the JSON object that follows the command. */
function documentedAnswer(text: string, command: string): Record<string, unknown> {
  const rest = text.slice(text.indexOf(command) + command.length);
  const lines = rest.split('\n');
  const start = lines.findIndex((l) => l === '{');
  for (let end = start + 1; end < lines.length; end++) {
    if (lines[end] !== '}') continue;
    return JSON.parse(lines.slice(start, end + 1).join('\n'));
  }
  throw new Error('no documented answer after the curl command');
}


function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.each(DATABASES)('quickstart with the built CLI on %s', (kind) => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let key: { organization_id: number; public_key: string; secret_key: string };

  const herald = (...args: string[]) => run(process.execPath, [CLI, ...args], env);

  beforeAll(async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
    dataDir = mkdtempSync(join(tmpdir(), 'herald-quickstart-'));
    port = await freePort();
    // Only what a user would set; no HERALD_* variable of the test run leaks in.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HERALD_')));
    env = {
      ...base,
      HERALD_DATA_DIR: dataDir,
      HERALD_PORT: String(port),
      HERALD_LOG_LEVEL: 'warn',
      // SQLite: the default database in the data folder, as in the quickstart.
      ...(kind === 'postgres' ? freshDatabaseEnv(kind, dataDir) : {}),
    };
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrate prints and exits 0', async () => {
    const res = await herald('migrate');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim().length).toBeGreaterThan(0);
    if (kind === 'sqlite') expect(existsSync(join(dataDir, 'herald.db'))).toBe(true);
    // Again: nothing to do, still fine.
    const again = await herald('migrate');
    expect(again.code, again.stderr).toBe(0);
  });

  it('keys create --org acme prints the organization and a key pair', async () => {
    const res = await herald('keys', 'create', '--org', 'acme');
    expect(res.code, res.stderr).toBe(0);
    key = JSON.parse(res.stdout);
    expect(Number.isInteger(key.organization_id) && key.organization_id > 0).toBe(true);
    expect(key.public_key).toMatch(/^pk_\S{8,}$/);
    expect(key.secret_key).toMatch(/^sk_\S{16,}$/);
  });

  it('a second keys create --org acme reuses the organization, with a new key pair', async () => {
    const res = await herald('keys', 'create', '--org', 'acme');
    expect(res.code, res.stderr).toBe(0);
    const second = JSON.parse(res.stdout);
    expect(second.organization_id).toBe(key.organization_id);
    expect(second.public_key).not.toBe(key.public_key);
    expect(second.secret_key).not.toBe(key.secret_key);
    const other = JSON.parse((await herald('keys', 'create', '--org', 'globex')).stdout);
    expect(other.organization_id).not.toBe(key.organization_id);
  });

  it('keys create without --org is a usage error', async () => {
    const res = await herald('keys', 'create');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--org/);
  });

  it("serve answers the documentation's curl example as documented", async () => {
    server = spawn(process.execPath, [CLI, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.on('data', (d) => (serverLog += d));
    server.stderr?.on('data', (d) => (serverLog += d));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      expect(server.exitCode, `serve exited: ${serverLog}`).toBeNull();
      const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`serve did not come up: ${serverLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    const command = curlCommand(EXAMPLE);
    expect(command).toContain('https://panel.sendcloud.sc/api/v3/event-subscriptions/connections');
    expect(command).toContain('<encoded-value>');
    const encoded = Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64');
    const local = command.replace('https://panel.sendcloud.sc', base).replace('<encoded-value>', encoded);
    // Real curl, through the shell, as a user pastes it; the status code appended on its own line.
    const res = await run('bash', ['-c', `${local} --silent --show-error --write-out '\\n%{http_code}'`], env);
    expect(res.code, res.stderr).toBe(0);
    const cut = res.stdout.lastIndexOf('\n');
    const status = Number(res.stdout.slice(cut + 1));
    const answer = JSON.parse(res.stdout.slice(0, cut));
    expect(status, res.stdout).toBe(201); // "Response: Created"

    const documented = documentedAnswer(EXAMPLE, command) as { data: Record<string, unknown> };
    const { id, created_at: createdAt, updated_at: updatedAt, ...rest } = answer.data;
    expect(Number.isInteger(id) && id > 0).toBe(true);
    expect(createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(updatedAt).toBe(createdAt);
    const { id: _id, created_at: _c, updated_at: _u, ...want } = documented.data;
    // Herald's documented additions: status and endpoint health (a fresh connection's), and
    // the webhook's retry_attempts and timeout_ms.
    expect(rest).toEqual({
      ...want,
      status: 'active',
      failing_since: null,
      consecutive_failures: 0,
      last_success_at: null,
      last_failure_at: null,
      disabled_at: null,
      configuration: { ...(want.configuration as object), retry_attempts: 5, timeout_ms: 10000 },
    });
    expect(Object.keys(answer)).toEqual(['data']);

    // The connection is there for the same key, and the token stays secret.
    const got = await fetch(`${base}/api/v3/event-subscriptions/connections/${id}`, {
      headers: { authorization: `Basic ${encoded}` },
    });
    expect(got.status).toBe(200);
    const text = await got.text();
    expect(JSON.parse(text)).toEqual(answer);
    expect(text).not.toContain('my-secret-token');
  });
});
