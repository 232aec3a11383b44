import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { type Herald, createHerald } from '../../src/herald.js';
import { createLogger } from '../../src/observability/logger.js';

export type DatabaseKind = 'sqlite' | 'postgres';

/**
 * SQLite always; PostgreSQL too when HERALD_TEST_POSTGRES_URL is set, which the vitest
 * globalSetup (test/support/global-setup.ts) does when a server answers on 127.0.0.1:5432.
 */
export const DATABASES: DatabaseKind[] = process.env.HERALD_TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/**
 * Request budgets far above what any test sends, so that polling tests are never throttled
 * while the limiter still runs on every request (test/api/rate-limit.test.ts sets its own).
 */
export const TEST_RATE_LIMITS = { HERALD_RATE_LIMIT_API: '1000000', HERALD_RATE_LIMIT_EVENTS: '1000000' };

export interface Credentials {
  organization_id: number;
  public_key: string;
  secret_key: string;
  /** `Authorization` header value for HTTP Basic. */
  basic: string;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface TestHerald {
  herald: Herald;
  baseUrl: string;
  dataDir: string;
  /** Environment that points a `herald` child process at the same database and key. */
  env: Record<string, string>;
  createOrg(name?: string): Promise<Credentials>;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** Environment for a fresh database of the given kind; each call gets its own file or schema. */
export function freshDatabaseEnv(kind: DatabaseKind, dataDir: string): Record<string, string> {
  if (kind === 'postgres') {
    return {
      HERALD_DATABASE_URL: process.env.HERALD_TEST_POSTGRES_URL as string,
      HERALD_DATABASE_SCHEMA: `herald_test_${randomBytes(6).toString('hex')}`,
    };
  }
  return { HERALD_DATABASE_URL: `sqlite:${join(dataDir, 'herald.db')}` };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.HERALD_TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/**
 * A real Herald on 127.0.0.1 with its own data folder and database, over real HTTP.
 * `workers` decides whether the delivery workers run in the process; `port` fixes the port
 * (and with it HERALD_PUBLIC_URL) before start, for tests that must know it up front.
 */
export async function startHerald(
  kind: DatabaseKind,
  overrides: Record<string, string> = {},
  options: { workers?: boolean; port?: number } = {},
): Promise<TestHerald> {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-test-'));
  const env: Record<string, string> = {
    HERALD_DATA_DIR: dataDir,
    HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
    HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
    HERALD_LOG_LEVEL: process.env.HERALD_TEST_LOG_LEVEL ?? 'silent',
    // Closing a test Herald with requests still out should not wait the production grace.
    HERALD_SHUTDOWN_GRACE_MS: '2000',
    ...TEST_RATE_LIMITS,
    HERALD_PORT: String(options.port ?? 0),
    ...(options.port ? { HERALD_PUBLIC_URL: `http://127.0.0.1:${options.port}` } : {}),
    ...freshDatabaseEnv(kind, dataDir),
    ...overrides,
  };
  const config = loadConfig(env);
  const herald = await createHerald(config, createLogger(config.logLevel), { workers: options.workers ?? true });
  const app = await buildApp(herald);
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  env.HERALD_PUBLIC_URL ??= baseUrl;
  let orgCounter = 0;

  return {
    herald,
    baseUrl,
    dataDir,
    env,
    async createOrg(name) {
      const key = await herald.auth.createKey(name ?? `org-${++orgCounter}-${randomBytes(3).toString('hex')}`);
      return { ...key, basic: `Basic ${Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64')}` };
    },
    request: (method, path, options = {}) => apiRequest(baseUrl, method, path, options),
    async close() {
      await app.close();
      await herald.close();
      if (env.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type RequestOptions = {
  body?: unknown;
  raw?: string;
  auth?: Credentials | string | null;
  headers?: Record<string, string>;
};

/** One API call over real HTTP; JSON answers parsed, the text kept too. */
export async function apiRequest<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.auth) headers.authorization = typeof options.auth === 'string' ? options.auth : options.auth.basic;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}
