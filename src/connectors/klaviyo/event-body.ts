import type { DeliveryJob } from '../connector.js';

const PARCEL_EVENT = 'parcels.event.created';
const PROFILE_KEYS = ['email', 'phone_number', 'external_id'] as const;
/** Klaviyo's limit on metric names. */
const METRIC_NAME_MAX = 127;

type Json = Record<string, unknown>;

/** `in_transit` → `In Transit`; `email.positive_reply` → `Email Positive Reply`. */
export function titleCase(text: string): string {
  return text
    .split(/[._\s-]+/)
    .filter((w) => w !== '')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Klaviyo metrics are what flows trigger on, so a parcel event becomes `Parcel <Phase>`
 * ("Parcel Delivered"); any other event type becomes its name in title case.
 */
export function metricName(eventType: string, data: unknown): string {
  if (eventType === PARCEL_EVENT && isObject(data) && isObject(data.event) && typeof data.event.phase === 'string') {
    return `Parcel ${titleCase(data.event.phase)}`.slice(0, METRIC_NAME_MAX);
  }
  return (titleCase(eventType) || eventType).slice(0, METRIC_NAME_MAX);
}

/**
 * Flat properties, because only top-level non-object properties can segment in Klaviyo:
 * the parcel's fields and the tracking event's fields side by side (their names do not
 * overlap). Other event types send their `data` object as it is.
 */
function properties(eventType: string, data: unknown): Json {
  if (eventType === PARCEL_EVENT && isObject(data)) {
    return { ...(isObject(data.event) ? data.event : {}), ...(isObject(data.parcel) ? data.parcel : {}) };
  }
  return isObject(data) ? { ...data } : { value: data };
}

/** The parcel event's own timestamp, so Klaviyo orders events as they happened, not as sent. */
function eventTime(eventType: string, data: unknown): string | undefined {
  if (eventType !== PARCEL_EVENT || !isObject(data) || !isObject(data.event)) return undefined;
  return typeof data.event.timestamp === 'string' ? data.event.timestamp : undefined;
}

/**
 * The Create Event request body (JSON:API). `unique_id` is the delivery's `webhook-id`, the
 * same on every attempt, so Klaviyo records a retried event once. Answers a problem instead
 * when the event cannot go to Klaviyo at all.
 */
export function eventBody(job: DeliveryJob): { body: string } | { problem: string } {
  const profile: Json = {};
  for (const key of PROFILE_KEYS) {
    const value = job.profile?.[key];
    if (typeof value === 'string' && value !== '') profile[key] = value;
  }
  if (Object.keys(profile).length === 0) {
    return { problem: 'the event has no profile (email, phone_number or external_id), which Klaviyo needs' };
  }
  let data: unknown;
  try {
    data = (JSON.parse(job.body) as Json).data;
  } catch {
    return { problem: 'the event body is not JSON' };
  }
  const attributes: Json = {
    properties: properties(job.eventType, data),
    metric: { data: { type: 'metric', attributes: { name: metricName(job.eventType, data) } } },
    profile: { data: { type: 'profile', attributes: profile } },
    unique_id: job.messageId,
  };
  const time = eventTime(job.eventType, data);
  if (time !== undefined) attributes.time = time;
  return { body: JSON.stringify({ data: { type: 'event', attributes } }) };
}
