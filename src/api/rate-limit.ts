import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { HeraldError } from '../domain/errors.js';
import type { Herald } from '../herald.js';
import { RateLimitCounters } from '../store/rate-limits.js';
import type { Executor } from '../store/store.js';

const WINDOW_MS = 60_000;

/** Event ingestion has its own, larger budget; every other authenticated call shares one. */
const EVENT_ROUTES = new Set(['POST /api/v3/event-subscriptions/events', 'POST /api/v3/event-subscriptions/events/batch']);

type Budget = keyof Config['rateLimit'];

const budgetOf = (request: FastifyRequest): Budget =>
  EVENT_ROUTES.has(`${request.method} ${request.routeOptions.url ?? ''}`) ? 'events' : 'api';

/** @fastify/rate-limit's store interface over the database's counters (PostgreSQL). */
function databaseStore(db: Executor): FastifyRateLimitStoreCtor {
  const counters = new RateLimitCounters(db);
  return class DatabaseStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number) {
      counters.hit(key, timeWindow).then(
        ({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }),
        (error: Error) => callback(error),
      );
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

/**
 * Per-organization request budgets per minute (HERALD_RATE_LIMIT_API, HERALD_RATE_LIMIT_EVENTS;
 * 0 turns one off). Over budget: 429 with `Retry-After` in the caller's dialect.
 *
 * The check runs as a route-level onRequest hook, and Fastify runs route-level hooks after
 * the scope's own, so the dialect's authentication has already set `organizationId`:
 * unauthenticated requests were answered 401 and public routes (organization 0) are not
 * counted. It runs before the body is read, so a throttled request costs no parsing, and
 * invalid requests count too.
 *
 * PostgreSQL: the counters live in the database, one upsert per request, so that every API
 * process shares one budget. SQLite (one process): the library's in-memory store.
 */
export async function registerRateLimit(app: FastifyInstance, herald: Herald): Promise<void> {
  const limits = herald.config.rateLimit;
  if (limits.api === 0 && limits.events === 0) return;
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => `${request.organizationId}:${budgetOf(request)}`,
    allowList: (request) => request.organizationId === 0 || limits[budgetOf(request)] === 0,
    max: (request) => limits[budgetOf(request)],
    errorResponseBuilder: (_request, context) =>
      new HeraldError(429, [
        {
          // The reference's error codes have none for throttling; `invalid` is its catch-all.
          code: 'invalid',
          detail: `Request was throttled. Expected available in ${Math.ceil(context.ttl / 1000)} seconds.`,
        },
      ]),
    ...(herald.database.dialect === 'postgres' ? { store: databaseStore(herald.store.db) } : { cache: 100_000 }),
  });
}
