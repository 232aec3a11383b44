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
  eventTypesFile: string | undefined;
  klaviyo: {
    clientId: string | undefined;
    clientSecret: string | undefined;
    authorizeUrl: string;
    tokenUrl: string;
    apiUrl: string;
    revokeUrl: string;
  };
}

export const DEFAULT_RETRY_SCHEDULE = '5s,1m,5m,30m,2h,5h,10h,14h,20h,24h';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (use e.g. 100ms, 5s, 1m, 2h)`);
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
  return {
    host,
    port,
    dataDir,
    databaseUrl: env.HERALD_DATABASE_URL || `sqlite:${resolve(dataDir, 'herald.db')}`,
    databaseSchema: env.HERALD_DATABASE_SCHEMA || undefined,
    secretKey: env.HERALD_SECRET_KEY || undefined,
    logLevel: env.HERALD_LOG_LEVEL || 'info',
    publicUrl: (env.HERALD_PUBLIC_URL || `http://${host}:${port}`).replace(/\/+$/, ''),
    tokenTtlSeconds: integer(env, 'HERALD_TOKEN_TTL_SECONDS', 3600, 60, 86_400),
    retryScheduleMs: schedule,
    allowPrivateNetworks: boolean(env, 'HERALD_ALLOW_PRIVATE_NETWORKS'),
    maxInFlight: integer(env, 'HERALD_MAX_IN_FLIGHT', 1000, 1, 100_000),
    maxInFlightPerConnection: integer(env, 'HERALD_MAX_IN_FLIGHT_PER_CONNECTION', 10, 1, 10_000),
    leaseMs: integer(env, 'HERALD_LEASE_MS', 60_000, 1000, 3_600_000),
    pollIntervalMs: integer(env, 'HERALD_POLL_INTERVAL_MS', 1000, 10, 60_000),
    claimBatchSize: integer(env, 'HERALD_CLAIM_BATCH_SIZE', 500, 1, 10_000),
    eventTypesFile: env.HERALD_EVENT_TYPES_FILE || undefined,
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
