/**
 * Steady ingest for the fault tests: batches of events posted one after another to whatever
 * API process is current, each with a bound on how long it may take. Records what every
 * request answered, so a test can say "202 or 503 with a JSON:API error, never a hang".
 */
import type { Credentials } from '../../support/herald.js';
import { parcelEvent } from '../../support/events.js';
import { EVENTS } from '../../delivery/helpers.js';

export type Outcome =
  | { kind: 'accepted'; at: number; ms: number; parcelIds: number[] }
  | { kind: 'unavailable'; at: number; ms: number; jsonApi: boolean; text: string }
  | { kind: 'other-status'; at: number; ms: number; status: number; text: string }
  | { kind: 'no-answer'; at: number; ms: number; error: string }
  | { kind: 'hang'; at: number; ms: number };

export interface Ingest {
  /** Parcel ids of every event that got a 202. */
  accepted: number[];
  outcomes: Outcome[];
  /** Outcomes by kind. */
  counts(): Record<Outcome['kind'], number>;
  /** Longest answer time, in ms. */
  slowestMs(): number;
  stop(): Promise<void>;
}

export interface IngestOptions {
  /** Base URL of the API to post to; read before every request (the API may be replaced). */
  target: () => string;
  org: Credentials;
  firstParcelId: number;
  batchSize?: number;
  /** Pause between requests, in ms. */
  pauseMs?: number;
  /** A request that takes longer than this counts as a hang. */
  hangMs?: number;
}

/** True when the body is a JSON:API error document: `{"errors":[{status, code, detail}, …]}`. */
export function isJsonApiError(text: string, status: number): boolean {
  try {
    const body = JSON.parse(text) as { errors?: Array<Record<string, unknown>> };
    return (
      Array.isArray(body.errors) &&
      body.errors.length > 0 &&
      body.errors.every((e) => String(e.status) === String(status) && typeof e.code === 'string' && typeof e.detail === 'string')
    );
  } catch {
    return false;
  }
}

export interface Reads {
  outcomes: Outcome[];
  counts(): Record<Outcome['kind'], number>;
  stop(): Promise<void>;
}

/**
 * API reads alongside the ingest (GET of a list, one after another): each must answer 200,
 * or 503 with a JSON:API error, within `hangMs`. A 200 is recorded as `accepted`.
 */
export function startReads(options: { target: () => string; org: Credentials; path: string; pauseMs?: number; hangMs?: number }): Reads {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      try {
        const res = await fetch(`${options.target()}${options.path}`, {
          headers: { authorization: options.org.basic },
          signal: AbortSignal.timeout(options.hangMs ?? 10_000),
        });
        const text = await res.text();
        const ms = Date.now() - at;
        if (res.status === 200) outcomes.push({ kind: 'accepted', at, ms, parcelIds: [] });
        else if (res.status === 503) outcomes.push({ kind: 'unavailable', at, ms, jsonApi: isJsonApiError(text, 503), text: text.slice(0, 300) });
        else outcomes.push({ kind: 'other-status', at, ms, status: res.status, text: text.slice(0, 300) });
      } catch (error) {
        outcomes.push(failure(error, at));
      }
      await new Promise((r) => setTimeout(r, options.pauseMs ?? 100));
    }
  })();
  return {
    outcomes,
    counts: () => countKinds(outcomes),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function failure(error: unknown, at: number): Outcome {
  const ms = Date.now() - at;
  const name = (error as Error).name;
  if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'hang', at, ms };
  return { kind: 'no-answer', at, ms, error: String((error as Error).cause ?? error) };
}

function countKinds(outcomes: readonly Outcome[]): Record<Outcome['kind'], number> {
  const out: Record<Outcome['kind'], number> = { accepted: 0, unavailable: 0, 'other-status': 0, 'no-answer': 0, hang: 0 };
  for (const o of outcomes) out[o.kind]++;
  return out;
}

/** Outcomes that break "202/200 or 503 with a JSON:API error, never a hang or a dropped connection". */
export function badOutcomes(outcomes: readonly Outcome[]): Outcome[] {
  return outcomes.filter((o) => o.kind === 'other-status' || o.kind === 'no-answer' || o.kind === 'hang' || (o.kind === 'unavailable' && !o.jsonApi));
}

export function startIngest(options: IngestOptions): Ingest {
  const batchSize = options.batchSize ?? 20;
  const pauseMs = options.pauseMs ?? 50;
  const hangMs = options.hangMs ?? 10_000;
  const accepted: number[] = [];
  const outcomes: Outcome[] = [];
  let next = options.firstParcelId;
  let stopped = false;

  const loop = (async () => {
    while (!stopped) {
      const parcelIds = Array.from({ length: batchSize }, () => next++);
      const at = Date.now();
      try {
        const res = await fetch(`${options.target()}${EVENTS}/batch`, {
          method: 'POST',
          headers: { authorization: options.org.basic, 'content-type': 'application/json' },
          body: JSON.stringify({ events: parcelIds.map((parcelId) => parcelEvent({ parcelId })) }),
          signal: AbortSignal.timeout(hangMs),
        });
        const text = await res.text();
        const ms = Date.now() - at;
        if (res.status === 202) {
          accepted.push(...parcelIds);
          outcomes.push({ kind: 'accepted', at, ms, parcelIds });
        } else if (res.status === 503) {
          outcomes.push({ kind: 'unavailable', at, ms, jsonApi: isJsonApiError(text, 503), text: text.slice(0, 300) });
        } else {
          outcomes.push({ kind: 'other-status', at, ms, status: res.status, text: text.slice(0, 300) });
        }
      } catch (error) {
        outcomes.push(failure(error, at));
      }
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();

  return {
    accepted,
    outcomes,
    counts: () => countKinds(outcomes),
    slowestMs: () => outcomes.reduce((max, o) => Math.max(max, o.ms), 0),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
