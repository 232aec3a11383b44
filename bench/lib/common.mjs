// Shared helpers for the bench processes: clock, payload, statistics, formatting.
import { performance } from 'node:perf_hooks';
import { parcelEventSample } from '../../dist/domain/event-types/parcel-event-created.js';

/**
 * Wall-clock milliseconds with sub-millisecond resolution. Every bench process runs on the
 * same machine, so values from different processes (load generator, receiver) compare.
 */
export function now() {
  return performance.timeOrigin + performance.now();
}

/**
 * The `parcels.event.created` body of test/support/events.ts: the reference InTransit
 * example (`parcelEventSample`, from the built dist/ — the same source the tests use),
 * with `parcelId` telling events apart and `description` carrying the latency stamp.
 */
export function parcelEvent(parcelId = parcelEventSample.parcel.parcel_id, description = parcelEventSample.event.description) {
  return {
    event_type: 'parcels.event.created',
    data: {
      parcel: { ...parcelEventSample.parcel, parcel_id: parcelId },
      event: { ...parcelEventSample.event, description },
    },
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Nearest-rank percentile of an ascending-sorted numeric array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    min: sorted.length ? sorted[0] : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function fmtInt(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

export function fmtMs(n) {
  if (!Number.isFinite(n)) return String(n);
  return n < 10 ? `${n.toFixed(2)} ms` : n < 100 ? `${n.toFixed(1)} ms` : `${Math.round(n).toLocaleString('en-US')} ms`;
}

export function fmtRatio(n) {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : '—';
}

/** 'yes' / 'NO', or 'n/a' when the figure or its reference was not measured. */
export function verdict(ok, value) {
  if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return 'n/a';
  return ok ? 'yes' : 'NO';
}

/** A CPU share (1 = one core) as "37%". */
export function fmtShare(share) {
  return Number.isFinite(share) ? `${Math.round(share * 100)}%` : '—';
}
