import { resolve } from 'node:path';

/** Every HERALD_* variable is read here, once, typed and validated. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite:<file>` or a `postgres://…` URL. */
  databaseUrl: string;
  /** Schema used on PostgreSQL (tests give each run its own). */
  databaseSchema: string | undefined;
  secretKey: string | undefined;
  /** Keys still accepted for opening sealed values during a key rotation (comma-separated). */
  oldSecretKeys: string[];
  /** `herald secrets rotate-key` only: the key to re-seal everything under. */
  newSecretKey: string | undefined;
  logLevel: string;
  publicUrl: string;
  tokenTtlSeconds: number;
  retryScheduleMs: number[];
  allowPrivateNetworks: boolean;
  maxInFlight: number;
  maxInFlightPerConnection: number;
  leaseMs: number;
  pollIntervalMs: number;
  claimBatchSize: number;
  /** Longest `timeout_ms` a connection may have; leases must cover it (see LEASE_MARGIN_MS). */
  maxTimeoutMs: number;
  /** Sockets per destination origin, shared fairly by the connections that send there. */
  connectionsPerOrigin: number;
  /** How long SIGTERM waits for in-flight requests; those cut short are released, not counted. */
  shutdownGraceMs: number;
  /** Bytes of each response body kept in the attempt log (a prefix; the rest is not read). */
  responseBodyBytes: number;
  limits: Limits;
  /** Bearer token `/metrics` requires when set. */
  metricsToken: string | undefined;
  /** How often the queue gauges are recomputed (off the request path). */
  metricsRefreshMs: number;
  rateLimit: {
    /** Requests per organization per minute to the API (0: no limit). */
    api: number;
    /** Event-ingestion requests per organization per minute (0: no limit). */
    events: number;
  };
  eventTypesFile: string | undefined;
  /** The customer portal's CSP `frame-ancestors`: who may embed /portal in an iframe. */
  portalFrameAncestors: string;
  /** Bearer token of the admin API (`/admin/v1`); without it the admin API does not exist (404). */
  adminToken: string | undefined;
  /** How long finished events (with their deliveries and attempts) are kept (HERALD_RETENTION). */
  retentionMs: number;
  health: HealthRules;
  /** Where Herald sends every organization's operational events (herald.*), signed with the secret. */
  operatorWebhook: { url: string; secret: string } | undefined;
  klaviyo: {
    clientId: string | undefined;
    clientSecret: string | undefined;
    authorizeUrl: string;
    tokenUrl: string;
    apiUrl: string;
    revokeUrl: string;
  };
}

/** Bounds on what one tenant can ask for; every one is documented in the README. */
export interface Limits {
  /** Deliveries one ingest request may create (its events × matching subscriptions). */
  deliveriesPerRequest: number;
  /** Deliveries one group commit writes; requests beyond it wait for the next commit. */
  deliveriesPerCommit: number;
  connectionsPerOrganization: number;
  subscriptionsPerOrganization: number;
  /** `extra_headers` of one connection: how many, and their names and values in bytes. */
  extraHeaders: number;
  extraHeadersBytes: number;
}

/** Endpoint health (delivery/health-monitor.ts): when a circuit opens, how it probes, when it disables. */
export interface HealthRules {
  /** Consecutive failed attempts that open a connection's circuit (0: never). */
  circuitFailures: number;
  /** The first probe's wait after the circuit opens; doubles while probes fail, up to MAX_PROBE_INTERVAL_MS. */
  probeIntervalMs: number;
  /** A connection whose every attempt failed for this long is disabled (0: never). */
  disableAfterMs: number;
}

export const MAX_PROBE_INTERVAL_MS = 10 * 60_000;

/**
 * A lease must outlast the longest request by this much: up to half of it for a claimed job
 * to start, the rest (RESULT_WRITE_MS) to write its result before the lease ends.
 */
export const LEASE_MARGIN_MS = 2_000;
export const RESULT_WRITE_MS = LEASE_MARGIN_MS / 2;

export const DEFAULT_RETRY_SCHEDULE = '5s,1m,5m,30m,2h,5h,10h,14h,20h,24h';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (use e.g. 100ms, 5s, 1m, 2h, 30d)`);
  return Math.round(Number(match[1]) * (UNITS[match[2] as string] as number));
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** The shortest admin token accepted: a guessable one would open every organization. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

function adminToken(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.HERALD_ADMIN_TOKEN;
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(
      `HERALD_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (it has ${raw.length}); ` +
        'generate one with e.g. `openssl rand -base64 32`',
    );
  }
  if (/\s/.test(raw)) throw new Error('HERALD_ADMIN_TOKEN must not contain whitespace (it travels in an Authorization header)');
  return raw;
}

/** A retention of at least a second (a shorter one would remove events while their answer is being read). */
function retention(env: NodeJS.ProcessEnv): number {
  const raw = env.HERALD_RETENTION || '30d';
  let ms: number;
  try {
    ms = parseDuration(raw);
  } catch {
    throw new Error(`HERALD_RETENTION must be a duration such as 30d, 12h or 10s, got "${raw}"`);
  }
  if (ms < 1000) throw new Error(`HERALD_RETENTION must be at least 1s, got "${raw}"`);
  return ms;
}

/** A duration variable (`30s`, `5d`; `0` alone means zero) within [min, max] milliseconds. */
function durationVar(env: NodeJS.ProcessEnv, name: string, fallback: string, min: number, max: number): number {
  const raw = env[name] || fallback;
  let value: number;
  try {
    value = raw.trim() === '0' ? 0 : parseDuration(raw);
  } catch {
    throw new Error(`${name} must be a duration such as 30s, 10m or 5d, got "${raw}"`);
  }
  if (value < min || value > max) throw new Error(`${name} must be from ${min} ms to ${max} ms, got "${raw}"`);
  return value;
}

function operatorWebhook(env: NodeJS.ProcessEnv): Config['operatorWebhook'] {
  const url = env.HERALD_OPERATOR_WEBHOOK_URL || undefined;
  const secret = env.HERALD_OPERATOR_WEBHOOK_SECRET || undefined;
  if (!url && !secret) return undefined;
  if (!url || !secret) throw new Error('HERALD_OPERATOR_WEBHOOK_URL and HERALD_OPERATOR_WEBHOOK_SECRET go together: set both or neither');
  try {
    new URL(url);
  } catch {
    throw new Error(`HERALD_OPERATOR_WEBHOOK_URL is not a URL: "${url}"`);
  }
  const key = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!key || Buffer.from(key[1] as string, 'base64').length < 24) {
    throw new Error('HERALD_OPERATOR_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ and the base64 of at least 24 random bytes');
  }
  return { url, secret };
}

/**
 * HERALD_PORTAL_FRAME_ANCESTORS: CSP sources separated by spaces (`'self' https://panel.example.com`).
 * It goes into a header as it is, so a `;`, a comma or a control character (which would start
 * another directive or header) is refused.
 */
function frameAncestors(env: NodeJS.ProcessEnv): string {
  const raw = (env.HERALD_PORTAL_FRAME_ANCESTORS ?? '').trim();
  if (raw === '') return "'self'";
  // eslint-disable-next-line no-control-regex
  if (/[;,\u0000-\u001f\u007f]/.test(raw)) {
    throw new Error(`HERALD_PORTAL_FRAME_ANCESTORS must be CSP sources separated by spaces (no ";" or ","), got "${raw}"`);
  }
  return raw.replace(/\s+/g, ' ');
}

function boolean(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0' || raw === 'no') return false;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  throw new Error(`${name} must be true or false, got "${env[name]}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.HERALD_DATA_DIR || './data');
  const host = env.HERALD_HOST || '127.0.0.1';
  const port = integer(env, 'HERALD_PORT', 8080, 0, 65535);
  const schedule = (env.HERALD_RETRY_SCHEDULE || DEFAULT_RETRY_SCHEDULE).split(',').map(parseDuration);
  const maxTimeoutMs = integer(env, 'HERALD_MAX_TIMEOUT_MS', 30_000, 1000, 30_000);
  const leaseMs = integer(env, 'HERALD_LEASE_MS', 60_000, 1000, 3_600_000);
  if (leaseMs < maxTimeoutMs + LEASE_MARGIN_MS) {
    // A shorter lease expires while a request is still out: another worker would send it again.
    throw new Error(
      `HERALD_LEASE_MS (${leaseMs}) must be at least HERALD_MAX_TIMEOUT_MS (${maxTimeoutMs}) + ${LEASE_MARGIN_MS} ms, ` +
        `so that a lease outlasts the longest request; raise HERALD_LEASE_MS or lower HERALD_MAX_TIMEOUT_MS`,
    );
  }
  return {
    host,
    port,
    dataDir,
    databaseUrl: env.HERALD_DATABASE_URL || `sqlite:${resolve(dataDir, 'herald.db')}`,
    databaseSchema: env.HERALD_DATABASE_SCHEMA || undefined,
    secretKey: env.HERALD_SECRET_KEY || undefined,
    oldSecretKeys: (env.HERALD_OLD_SECRET_KEYS ?? '').split(',').map((k) => k.trim()).filter((k) => k !== ''),
    newSecretKey: env.HERALD_NEW_SECRET_KEY || undefined,
    logLevel: env.HERALD_LOG_LEVEL || 'info',
    publicUrl: (env.HERALD_PUBLIC_URL || `http://${host}:${port}`).replace(/\/+$/, ''),
    tokenTtlSeconds: integer(env, 'HERALD_TOKEN_TTL_SECONDS', 3600, 60, 86_400),
    retryScheduleMs: schedule,
    allowPrivateNetworks: boolean(env, 'HERALD_ALLOW_PRIVATE_NETWORKS'),
    maxInFlight: integer(env, 'HERALD_MAX_IN_FLIGHT', 1000, 1, 100_000),
    maxInFlightPerConnection: integer(env, 'HERALD_MAX_IN_FLIGHT_PER_CONNECTION', 10, 1, 10_000),
    leaseMs,
    pollIntervalMs: integer(env, 'HERALD_POLL_INTERVAL_MS', 1000, 10, 60_000),
    claimBatchSize: integer(env, 'HERALD_CLAIM_BATCH_SIZE', 500, 1, 10_000),
    maxTimeoutMs,
    connectionsPerOrigin: integer(env, 'HERALD_CONNECTIONS_PER_ORIGIN', 64, 1, 10_000),
    shutdownGraceMs: integer(env, 'HERALD_SHUTDOWN_GRACE_MS', 30_000, 0, 600_000),
    responseBodyBytes: integer(env, 'HERALD_RESPONSE_BODY_BYTES', 8192, 0, 65_536),
    limits: {
      deliveriesPerRequest: integer(env, 'HERALD_MAX_DELIVERIES_PER_REQUEST', 10_000, 1, 1_000_000),
      deliveriesPerCommit: integer(env, 'HERALD_MAX_DELIVERIES_PER_COMMIT', 10_000, 1, 1_000_000),
      connectionsPerOrganization: integer(env, 'HERALD_MAX_CONNECTIONS_PER_ORG', 1000, 1, 1_000_000),
      subscriptionsPerOrganization: integer(env, 'HERALD_MAX_SUBSCRIPTIONS_PER_ORG', 2000, 1, 1_000_000),
      extraHeaders: integer(env, 'HERALD_MAX_EXTRA_HEADERS', 20, 0, 100),
      extraHeadersBytes: integer(env, 'HERALD_MAX_EXTRA_HEADERS_BYTES', 8192, 0, 65_536),
    },
    metricsToken: env.HERALD_METRICS_TOKEN || undefined,
    metricsRefreshMs: integer(env, 'HERALD_METRICS_REFRESH_MS', 15_000, 100, 3_600_000),
    rateLimit: {
      api: integer(env, 'HERALD_RATE_LIMIT_API', 1200, 0, 100_000_000),
      events: integer(env, 'HERALD_RATE_LIMIT_EVENTS', 60_000, 0, 100_000_000),
    },
    eventTypesFile: env.HERALD_EVENT_TYPES_FILE || undefined,
    adminToken: adminToken(env),
    portalFrameAncestors: frameAncestors(env),
    retentionMs: retention(env),
    health: {
      circuitFailures: integer(env, 'HERALD_CIRCUIT_FAILURES', 20, 0, 1_000_000),
      probeIntervalMs: durationVar(env, 'HERALD_CIRCUIT_PROBE_INTERVAL', '30s', 100, MAX_PROBE_INTERVAL_MS),
      disableAfterMs: durationVar(env, 'HERALD_DISABLE_AFTER', '5d', 0, 365 * 86_400_000),
    },
    operatorWebhook: operatorWebhook(env),
    klaviyo: {
      clientId: env.HERALD_KLAVIYO_CLIENT_ID || undefined,
      clientSecret: env.HERALD_KLAVIYO_CLIENT_SECRET || undefined,
      authorizeUrl: env.HERALD_KLAVIYO_AUTHORIZE_URL || 'https://www.klaviyo.com/oauth/authorize',
      tokenUrl: env.HERALD_KLAVIYO_TOKEN_URL || 'https://a.klaviyo.com/oauth/token',
      apiUrl: (env.HERALD_KLAVIYO_API_URL || 'https://a.klaviyo.com').replace(/\/+$/, ''),
      revokeUrl: env.HERALD_KLAVIYO_REVOKE_URL || 'https://a.klaviyo.com/oauth/revoke',
    },
  };
}
