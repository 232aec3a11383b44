/**
 * Counting on the receiver's side: one `webhook-id` is one delivery, so requests beyond the
 * distinct ids are duplicates, and accepted deliveries whose key (by default `<path>
 * <parcel_id>`) never arrived are lost. Every fault test prints one such line per thing it
 * measured.
 */
import type { Received } from '../../support/receiver.js';
import { parcelIdOf } from '../../delivery/helpers.js';

export interface Count {
  accepted: number;
  delivered: number;
  unique: number;
  duplicates: number;
  lost: number;
  /** A few of the lost keys, for failure messages. */
  missing: string[];
  /** Keys that arrived under more than one webhook-id (a delivery must keep its id). */
  splitKeys: string[];
  /** webhook-ids received more than once, with how often. */
  repeated: Map<string, number>;
}

export const webhookId = (r: Received) => String(r.headers['webhook-id']);

const parcels = new WeakMap<Received, number>();
/** The parcel id of a delivered event (parsed once per request: tests tally often). */
export function parcelOf(r: Received): number {
  let id = parcels.get(r);
  if (id === undefined) {
    id = parcelIdOf(r);
    parcels.set(r, id);
  }
  return id;
}
export const pathAndParcel = (r: Received) => `${r.path} ${parcelOf(r)}`;

/** Expected keys for events with these parcel ids at these receiver paths. */
export function keysFor(paths: readonly string[], parcelIds: Iterable<number>): string[] {
  const ids = [...parcelIds];
  return paths.flatMap((path) => ids.map((p) => `${path} ${p}`));
}

export function tally(requests: readonly Received[], expected: Iterable<string>, keyOf: (r: Received) => string = pathAndParcel): Count {
  const perId = new Map<string, number>();
  const idsPerKey = new Map<string, Set<string>>();
  for (const r of requests) {
    const id = webhookId(r);
    perId.set(id, (perId.get(id) ?? 0) + 1);
    const key = keyOf(r);
    const ids = idsPerKey.get(key) ?? new Set<string>();
    ids.add(id);
    idsPerKey.set(key, ids);
  }
  const wanted = [...new Set(expected)];
  const missing = wanted.filter((k) => !idsPerKey.has(k));
  return {
    accepted: wanted.length,
    delivered: requests.length,
    unique: perId.size,
    duplicates: requests.length - perId.size,
    lost: missing.length,
    missing: missing.slice(0, 10),
    splitKeys: [...idsPerKey].filter(([, ids]) => ids.size > 1).map(([k]) => k).slice(0, 10),
    repeated: new Map([...perId].filter(([, n]) => n > 1)),
  };
}

/** Prints `faults: <name>: accepted=… delivered=… unique=… duplicates=… lost=… [extra…]`. */
export function report(name: string, count: Count, extra: Record<string, string | number | boolean> = {}): void {
  const fields = [
    `accepted=${count.accepted}`,
    `delivered=${count.delivered}`,
    `unique=${count.unique}`,
    `duplicates=${count.duplicates}`,
    `lost=${count.lost}`,
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
  ];
  console.log(`faults: ${name}: ${fields.join(' ')}`);
}

/** Prints `faults: <name>: k=v …` for measurements that are not delivery counts. */
export function reportFigures(name: string, figures: Record<string, string | number | boolean>): void {
  console.log(`faults: ${name}: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}
